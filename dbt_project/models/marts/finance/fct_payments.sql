-- Charge attempts with their invoice, retry position, failure reason and refunds.
with refunds as (
    select
        charge_id,
        count(*) as refund_count,
        sum(amount_minor) as refunded_minor,
        max(refunded_at) as last_refunded_at
    from {{ ref('int_revenue_refunds') }}
    group by charge_id
)

select
    attempts.charge_id,
    attempts.payment_intent_id,
    attempts.invoice_id,
    attempts.customer_id,
    attempts.created_at,
    {{ utc_date('attempts.created_at') }} as payment_date,
    attempts.status,
    attempts.is_successful,
    not attempts.is_successful as is_failed,
    attempts.failure_code,
    attempts.failure_message,
    attempts.outcome_type,
    attempts.attempt_number,
    attempts.is_retry,
    attempts.prior_failed_attempts,
    -- recovered: a successful attempt after at least one failed attempt on the same invoice
    attempts.is_successful and attempts.prior_failed_attempts > 0 as is_recovered,
    attempts.currency,
    {{ minor_to_major('attempts.amount_minor', 'attempts.currency') }} as amount,
    {{ minor_to_major('attempts.amount_minor', 'attempts.currency') }} * fx.rate_to_usd as amount_usd,
    {{ minor_to_major('attempts.amount_refunded_minor', 'attempts.currency') }} as amount_refunded,
    {{ minor_to_major('attempts.amount_refunded_minor', 'attempts.currency') }} * fx.rate_to_usd as amount_refunded_usd,
    coalesce(refunds.refund_count, 0) as refund_count,
    refunds.last_refunded_at,
    fx.rate_to_usd as fx_rate_to_usd
from {{ ref('int_payment_attempts') }} as attempts
left join refunds on refunds.charge_id = attempts.charge_id
left join {{ ref('fx_rates') }} as fx
    on fx.month_start = {{ month_start(utc_date('attempts.created_at')) }} and fx.currency = attempts.currency
