-- The summary's ending MRR and paying customers equal fct_mrr_daily on the month's snapshot day
-- (last day of the month, or the last day of data in the current month).
with daily as (
    select * from {{ ref('fct_mrr_daily') }}
),

last_day as (
    select max(date_day) as last_date_day from daily
),

daily_snapshots as (
    select
        daily.month_start,
        sum(daily.mrr) as mrr,
        count(*) as paying_customers
    from daily
    cross join last_day
    where daily.date_day = least({{ add_days(add_months('daily.month_start', 1), -1) }}, last_day.last_date_day)
    group by daily.month_start
)

select
    summary.month_start,
    summary.ending_mrr,
    daily_snapshots.mrr as daily_mrr,
    summary.paying_customers_end,
    daily_snapshots.paying_customers as daily_paying_customers
from {{ ref('fct_mrr_summary_monthly') }} as summary
full outer join daily_snapshots on daily_snapshots.month_start = summary.month_start
where abs(coalesce(summary.ending_mrr, 0) - coalesce(daily_snapshots.mrr, 0)) > 0.01
   or coalesce(summary.paying_customers_end, 0) <> coalesce(daily_snapshots.paying_customers, 0)
