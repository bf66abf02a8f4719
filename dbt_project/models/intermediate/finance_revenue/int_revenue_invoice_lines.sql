-- Invoice lines that carry revenue: lines of finalised, not-void invoices, with their service
-- period as dates (UTC) and their amount net of line discounts in minor, major and usd units.
-- The usd amount uses the fx rate of the invoice's finalisation month (DECISIONLOG "Currency
-- conversion in finance marts"), so every day of a line's schedule converts at one rate.
with invoices as (
    select
        invoice_id,
        status as invoice_status,
        billing_reason,
        finalized_at,
        {{ utc_date('finalized_at') }} as finalized_date
    from {{ ref('stg_stripe__invoices') }}
    where finalized_at is not null
      and voided_at is null
      and status not in ('draft', 'void')
),

lines as (
    select
        l.invoice_line_id,
        l.invoice_id,
        l.customer_id,
        l.subscription_id,
        l.price_id,
        l.product_id,
        l.is_proration,
        l.currency,
        l.amount as gross_amount_minor,
        l.discount_amount as discount_amount_minor,
        l.net_amount as amount_minor,
        l.quantity,
        {{ utc_date('l.period_start_at') }} as service_start_date,
        {{ utc_date('l.period_end_at') }} as service_end_date,
        i.invoice_status,
        i.billing_reason,
        i.finalized_at,
        i.finalized_date,
        {{ month_start('i.finalized_date') }} as invoice_month
    from {{ ref('stg_stripe__invoice_lines') }} as l
    inner join invoices as i on i.invoice_id = l.invoice_id
)

select
    lines.invoice_line_id,
    lines.invoice_id,
    lines.customer_id,
    lines.subscription_id,
    lines.price_id,
    lines.product_id,
    coalesce(prices.usage_type, 'licensed') as usage_type,
    lines.is_proration,
    lines.invoice_status,
    lines.billing_reason,
    lines.currency,
    lines.quantity,
    lines.gross_amount_minor,
    lines.discount_amount_minor,
    lines.amount_minor,
    {{ minor_to_major('lines.amount_minor', 'lines.currency') }} as amount,
    fx.rate_to_usd as fx_rate_to_usd,
    {{ minor_to_major('lines.amount_minor', 'lines.currency') }} * fx.rate_to_usd as amount_usd,
    lines.finalized_at,
    lines.finalized_date,
    lines.invoice_month,
    lines.service_start_date,
    lines.service_end_date,
    -- Service days in [start, end). 0 = no usable period: recognised on the finalisation day.
    case
        when lines.service_start_date is null or lines.service_end_date is null then 0
        else greatest({{ days_between('lines.service_start_date', 'lines.service_end_date') }}, 0)
    end as service_days
from lines
left join {{ ref('stg_stripe__prices') }} as prices on prices.price_id = lines.price_id
left join {{ ref('fx_rates') }} as fx
    on fx.month_start = lines.invoice_month and fx.currency = lines.currency
