-- Succeeded refunds, linked to the invoice they refund (charge -> payment intent -> invoice
-- payment). The usd amount uses the fx rate of the refund's month.
with refunds as (
    select refund_id, charge_id, currency, amount as amount_minor, reason, created_at
    from {{ ref('stg_stripe__refunds') }}
    where status = 'succeeded'
)

select
    refunds.refund_id,
    refunds.charge_id,
    payments.invoice_id,
    charges.customer_id,
    refunds.currency,
    refunds.reason,
    refunds.created_at as refunded_at,
    {{ utc_date('refunds.created_at') }} as refunded_date,
    refunds.amount_minor,
    {{ minor_to_major('refunds.amount_minor', 'refunds.currency') }} as amount,
    fx.rate_to_usd as fx_rate_to_usd,
    {{ minor_to_major('refunds.amount_minor', 'refunds.currency') }} * fx.rate_to_usd as amount_usd
from refunds
left join {{ ref('stg_stripe__charges') }} as charges on charges.charge_id = refunds.charge_id
left join {{ ref('stg_stripe__invoice_payments') }} as payments
    on payments.payment_intent_id = charges.payment_intent_id
left join {{ ref('fx_rates') }} as fx
    on fx.month_start = {{ month_start(utc_date('refunds.created_at')) }} and fx.currency = refunds.currency
