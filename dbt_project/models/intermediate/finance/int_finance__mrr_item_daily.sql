-- MRR of each subscription item on each day, from invoice lines (DECISIONLOG "MRR").
-- On a day, an item's MRR comes from the latest licensed line of that item whose service period
-- covers the day (latest period start; at an equal start a proration wins over the regular line and
-- a positive line over a negative one). Its amount is monthly-normalised (macro monthly_amount):
--   regular line:   the line amount (unit price x quantity for the period),
--   proration line: price unit_amount x line quantity (the full-period price of the new state; the
--                   prorated line amount is only the remainder of the period),
-- times the discount factor of var('mrr_discount_rule'), in major units of the line currency.
-- A latest line that is zero (trial period) or negative (unused time of a removed item) gives 0.
-- MRR stops on the subscription's ended_at day and on the day after the last day of data; metered
-- prices and subscriptions whose status is trialing/incomplete contribute nothing.
-- Rows only for days with MRR > 0.

with as_of as (
    select max({{ utc_date('created_at') }}) as as_of_date
    from {{ ref('stg_stripe__invoices') }}
),

lines as (
    select
        lines.invoice_line_id,
        lines.customer_id,
        lines.subscription_id,
        lines.subscription_item_id,
        lines.price_id,
        lines.is_proration,
        lines.currency,
        lines.amount,
        lines.discount_amount,
        lines.quantity,
        lines.period_start_at,
        {{ utc_date('lines.period_start_at') }} as start_date,
        {{ utc_date('lines.period_end_at') }} as end_date,
        invoices.created_at as invoice_created_at,
        plans.plan_tier,
        plans.billing_interval,
        plans.interval_count,
        plans.unit_amount,
        coalesce(subs.subscription_kind, 'plan') as subscription_kind,
        {{ utc_date('subs.ended_at') }} as subscription_end_date
    from {{ ref('stg_stripe__invoice_lines') }} as lines
    inner join {{ ref('stg_stripe__invoices') }} as invoices
        on invoices.invoice_id = lines.invoice_id
    inner join {{ ref('dim_plans') }} as plans
        on plans.price_id = lines.price_id
    left join {{ ref('stg_stripe__subscriptions') }} as subs
        on subs.subscription_id = lines.subscription_id
    where lines.subscription_item_id is not null
      and plans.usage_type = 'licensed'
      and plans.billing_interval is not null
      and coalesce(invoices.status, 'open') <> 'void'
      and coalesce(subs.status, 'active') not in {{ mrr_excluded_statuses() }}
),

line_mrr as (
    select
        *,
        case
            when amount > 0 then
                {{ minor_to_major(
                    monthly_amount(
                        '(case when is_proration then coalesce(unit_amount * quantity, amount) else amount end)',
                        'billing_interval', 'interval_count'),
                    'currency') }}
                * ({{ mrr_discount_factor('amount', 'discount_amount') }})
            else 0
        end as line_mrr_local
    from lines
),

daily as (
    select
        dates.date_day,
        line_mrr.*
    from line_mrr
    inner join {{ ref('dim_dates') }} as dates
        on dates.date_day >= line_mrr.start_date
       and dates.date_day < line_mrr.end_date
    cross join as_of
    where dates.date_day <= as_of.as_of_date
      and (line_mrr.subscription_end_date is null or dates.date_day < line_mrr.subscription_end_date)
),

ranked as (
    select
        *,
        row_number() over (
            partition by subscription_item_id, date_day
            order by
                period_start_at desc,
                case when is_proration then 1 else 0 end desc,
                case when amount > 0 then 1 else 0 end desc,
                invoice_created_at desc,
                invoice_line_id desc
        ) as line_rank
    from daily
)

select
    date_day,
    customer_id,
    subscription_id,
    subscription_item_id,
    subscription_kind,
    price_id,
    plan_tier,
    billing_interval,
    currency,
    quantity,
    line_mrr_local as mrr_local,
    invoice_line_id as source_invoice_line_id,
    is_proration as is_from_proration
from ranked
where line_rank = 1
  and line_mrr_local > 0
