-- MRR of each customer on each day: item MRR summed per customer, converted to the reporting
-- currency at the FX rate of the day's month (DECISIONLOG "Currency conversion"), with the main
-- plan (highest-MRR item of a 'plan' subscription), seats and subscription count.

with items as (
    select
        *,
        {{ month_start('date_day') }} as month_start
    from {{ ref('int_finance__mrr_item_daily') }}
),

fx as (
    select
        cast(month_start as date) as month_start,
        lower(currency) as currency,
        cast(rate_to_usd as {{ type_float() }}) as rate_to_usd
    from {{ ref('fx_rates') }}
),

converted as (
    select
        items.*,
        items.mrr_local * item_fx.rate_to_usd / reporting_fx.rate_to_usd as mrr
    from items
    left join fx as item_fx
        on item_fx.currency = items.currency
       and item_fx.month_start = items.month_start
    left join fx as reporting_fx
        on reporting_fx.currency = '{{ var("reporting_currency") | lower }}'
       and reporting_fx.month_start = items.month_start
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id, date_day
            order by case when subscription_kind = 'plan' then 0 else 1 end, mrr_local desc, subscription_item_id
        ) as plan_rank
    from converted
)

select
    customer_id,
    date_day,
    month_start,
    -- a Stripe customer bills in one currency; max() only picks it
    max(currency) as currency,
    -- null (not a partial sum) when an FX rate is missing, so tests catch it
    case when count(mrr) < count(*) then null else sum(mrr) end as mrr,
    sum(mrr_local) as mrr_local,
    max(case when plan_rank = 1 then plan_tier end) as plan_tier,
    cast(sum(case when subscription_kind = 'plan' then quantity else 0 end) as {{ type_int() }}) as seats,
    count(distinct subscription_id) as subscription_count,
    count(*) as item_count
from ranked
group by customer_id, date_day, month_start
