-- Monthly roll-up of revenue recognition in usd (all invoice currencies together). The deferred
-- balance is a snapshot: closing = balance on the month's last loaded day, opening = the
-- previous month's closing. Identity: recognized + deferred_change = invoiced.
with daily as (
    select * from {{ ref('fct_revenue_recognition_daily') }}
),

last_day as (
    select max(date_day) as as_of_date from daily
),

monthly as (
    select
        month_start,
        min(date_day) as first_day,
        max(date_day) as last_day,
        sum(invoiced_gross_usd) as invoiced_gross_usd,
        sum(refunds_usd) as refunds_usd,
        sum(invoiced_usd) as invoiced_usd,
        sum(recognized_usd) as recognized_usd
    from daily
    group by month_start
),

closing as (
    select daily.month_start, sum(daily.deferred_balance_usd) as deferred_closing_usd
    from daily
    inner join monthly
        on monthly.month_start = daily.month_start and monthly.last_day = daily.date_day
    group by daily.month_start
)

select
    monthly.month_start,
    monthly.invoiced_gross_usd,
    monthly.refunds_usd,
    monthly.invoiced_usd,
    monthly.recognized_usd,
    coalesce(lag(closing.deferred_closing_usd) over (order by monthly.month_start), 0) as deferred_opening_usd,
    closing.deferred_closing_usd,
    closing.deferred_closing_usd
        - coalesce(lag(closing.deferred_closing_usd) over (order by monthly.month_start), 0) as deferred_change_usd,
    {{ days_between('monthly.first_day', 'monthly.last_day') }} + 1 as days_loaded,
    -- closed: the data runs past the month's end
    monthly.month_start < {{ month_start('last_day.as_of_date') }} as is_closed_month
from monthly
inner join closing on closing.month_start = monthly.month_start
cross join last_day
