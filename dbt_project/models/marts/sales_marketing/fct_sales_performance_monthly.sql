-- Sales performance per rep (opportunity owner) per month: created by created month, won and lost
-- by close month. Dense: every rep has a row for every month from the first opportunity on.
with opportunities as (
    select * from {{ ref('fct_opportunities') }}
),

bounds as (
    select
        min(created_month) as first_month,
        {{ month_start('max(coalesce(closed_date, created_date))') }} as last_month
    from opportunities
),

months as (
    select distinct {{ month_start('date_day') }} as month_start
    from ({{ date_spine('(select first_month from bounds)', '(select last_month from bounds)') }}) as spine
),

reps as (
    select distinct owner from opportunities
),

created as (
    select owner, created_month as month_start, count(*) as opportunities_created, sum(amount_reporting) as created_amount
    from opportunities
    group by owner, created_month
),

closed as (
    select
        owner,
        closed_month as month_start,
        sum(case when is_won then 1 else 0 end) as opportunities_won,
        sum(case when is_lost then 1 else 0 end) as opportunities_lost,
        sum(case when is_won then amount_reporting else 0 end) as won_amount,
        sum(case when is_lost then amount_reporting else 0 end) as lost_amount,
        avg(case when is_won then days_to_close end) as avg_days_to_win
    from opportunities
    where closed_month is not null
    group by owner, closed_month
)

select
    reps.owner,
    months.month_start,
    coalesce(created.opportunities_created, 0) as opportunities_created,
    coalesce(created.created_amount, 0) as created_amount,
    coalesce(closed.opportunities_won, 0) as opportunities_won,
    coalesce(closed.opportunities_lost, 0) as opportunities_lost,
    coalesce(closed.won_amount, 0) as won_amount,
    coalesce(closed.lost_amount, 0) as lost_amount,
    {{ safe_divide('closed.opportunities_won * 1.0', 'closed.opportunities_won + closed.opportunities_lost') }} as win_rate,
    closed.avg_days_to_win
from reps
cross join months
left join created on created.owner = reps.owner and created.month_start = months.month_start
left join closed on closed.owner = reps.owner and closed.month_start = months.month_start
