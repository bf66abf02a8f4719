-- MRR snapshot of each customer at the end of each month: the fct_mrr_daily row of the month's
-- last day, or of the last day of data for the current month (DECISIONLOG "MRR snapshot"). Reads
-- the materialised daily mart, so the monthly models never recompute the daily history and the
-- month-end figures are exactly the daily ones. Only paying customer-months; the zero months are
-- filled by int_finance__mrr_movements.

with daily as (
    select * from {{ ref('fct_mrr_daily') }}
),

last_day as (
    select max(date_day) as last_date_day from daily
)

select
    daily.customer_id,
    daily.month_start,
    daily.date_day as snapshot_date,
    daily.currency,
    daily.mrr,
    daily.mrr_local,
    daily.plan_tier,
    daily.seats,
    daily.subscription_count
from daily
cross join last_day
where daily.date_day = least({{ add_days(add_months('daily.month_start', 1), -1) }}, last_day.last_date_day)
