-- Invoices with their payment history. Money in major units of the invoice currency and in usd
-- at the fx rate of the invoice month (finalisation month; creation month for drafts).
with invoices as (
    select
        *,
        {{ month_start(utc_date('coalesce(finalized_at, created_at)')) }} as invoice_month
    from {{ ref('stg_stripe__invoices') }}
),

attempts as (
    select
        invoice_id,
        count(*) as charge_attempts,
        sum(case when is_successful then 0 else 1 end) as failed_attempts,
        sum(case when is_successful and prior_failed_attempts > 0 then 1 else 0 end) as recovered_charges,
        min(case when not is_successful then created_at end) as first_failed_at,
        sum(amount_refunded_minor) as refunded_minor
    from {{ ref('int_payment_attempts') }}
    where invoice_id is not null
    group by invoice_id
)

select
    invoices.invoice_id,
    invoices.customer_id,
    invoices.subscription_id,
    invoices.invoice_number,
    invoices.status,
    invoices.billing_reason,
    invoices.currency,
    invoices.created_at,
    invoices.finalized_at,
    invoices.paid_at,
    invoices.marked_uncollectible_at,
    invoices.voided_at,
    invoices.invoice_month,
    {{ utc_date('invoices.created_at') }} as invoice_date,
    {{ minor_to_major('invoices.subtotal', 'invoices.currency') }} as subtotal,
    {{ minor_to_major('invoices.discount_amount', 'invoices.currency') }} as discount_amount,
    {{ minor_to_major('invoices.total', 'invoices.currency') }} as total,
    {{ minor_to_major('invoices.amount_due', 'invoices.currency') }} as amount_due,
    {{ minor_to_major('invoices.amount_paid', 'invoices.currency') }} as amount_paid,
    {{ minor_to_major('invoices.amount_remaining', 'invoices.currency') }} as amount_remaining,
    {{ minor_to_major('coalesce(attempts.refunded_minor, 0)', 'invoices.currency') }} as amount_refunded,
    fx.rate_to_usd as fx_rate_to_usd,
    {{ minor_to_major('invoices.total', 'invoices.currency') }} * fx.rate_to_usd as total_usd,
    {{ minor_to_major('invoices.amount_due', 'invoices.currency') }} * fx.rate_to_usd as amount_due_usd,
    {{ minor_to_major('invoices.amount_paid', 'invoices.currency') }} * fx.rate_to_usd as amount_paid_usd,
    {{ minor_to_major('invoices.amount_remaining', 'invoices.currency') }} * fx.rate_to_usd as amount_remaining_usd,
    {{ minor_to_major('coalesce(attempts.refunded_minor, 0)', 'invoices.currency') }} * fx.rate_to_usd as amount_refunded_usd,
    invoices.status = 'paid' as is_paid,
    invoices.status = 'uncollectible' as is_uncollectible,
    coalesce(attempts.failed_attempts, 0) > 0 as has_failed_payment,
    -- recovered: paid after at least one failed attempt
    invoices.status = 'paid' and coalesce(attempts.failed_attempts, 0) > 0 as is_recovered,
    invoices.attempt_count,
    coalesce(attempts.charge_attempts, 0) as charge_attempts,
    coalesce(attempts.failed_attempts, 0) as failed_attempts,
    attempts.first_failed_at,
    -- whole calendar days (UTC) from finalisation to payment; null while unpaid
    case
        when invoices.paid_at is not null
            then {{ days_between(utc_date('coalesce(invoices.finalized_at, invoices.created_at)'), utc_date('invoices.paid_at')) }}
    end as days_to_pay
from invoices
left join attempts on attempts.invoice_id = invoices.invoice_id
left join {{ ref('fx_rates') }} as fx
    on fx.month_start = invoices.invoice_month and fx.currency = invoices.currency
