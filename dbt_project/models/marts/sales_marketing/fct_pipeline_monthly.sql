-- Pipeline by month-end snapshot and stage, plus what was won and lost in the month.
-- The CRM keeps no stage history, so a past month's open pipeline is reconstructed from created
-- and closed dates: an opportunity open at the month end shows in its current stage if it is still
-- open, else (it closed later) in 'stage_unknown', weighted with var
-- pipeline_unknown_stage_probability (DECISIONLOG "Pipeline snapshots").
{% set stages = ['prospecting', 'qualification', 'proposal', 'negotiation', 'stage_unknown', 'closed_won', 'closed_lost'] %}
with opportunities as (
    select * from {{ ref('fct_opportunities') }}
),

bounds as (
    select
        min(created_month) as first_month,
        {{ month_start('max(coalesce(closed_date, created_date))') }} as last_month,
        max(coalesce(closed_date, created_date)) as as_of_date
    from opportunities
),

months as (
    select distinct {{ month_start('date_day') }} as month_start
    from ({{ date_spine('(select first_month from bounds)', '(select last_month from bounds)') }}) as spine
),

stages as (
    {% for stage in stages %}
    select '{{ stage }}' as stage, {{ sm_stage_order("'" ~ stage ~ "'") }} as stage_order{% if not loop.last %} union all{% endif %}
    {% endfor %}
),

month_ends as (
    select
        months.month_start,
        least({{ add_days(add_months('months.month_start', 1), -1) }}, bounds.as_of_date) as snapshot_date
    from months
    cross join bounds
),

open_at_month_end as (
    select
        m.month_start,
        case when o.is_open then o.stage else 'stage_unknown' end as stage,
        count(*) as open_opportunities,
        sum(o.amount_reporting) as open_amount,
        sum(o.amount_reporting * case when o.is_open then o.probability else {{ sm_stage_probability("'stage_unknown'") }} end) as weighted_amount
    from month_ends as m
    inner join opportunities as o
        on o.created_date <= m.snapshot_date
        and (o.closed_date is null or o.closed_date > m.snapshot_date)
    group by m.month_start, case when o.is_open then o.stage else 'stage_unknown' end
),

created as (
    select created_month as month_start, stage, count(*) as created_opportunities, sum(amount_reporting) as created_amount
    from opportunities
    group by created_month, stage
),

closed as (
    select
        closed_month as month_start,
        stage,
        sum(case when is_won then 1 else 0 end) as won_opportunities,
        sum(case when is_won then amount_reporting else 0 end) as won_amount,
        sum(case when is_lost then 1 else 0 end) as lost_opportunities,
        sum(case when is_lost then amount_reporting else 0 end) as lost_amount
    from opportunities
    where closed_month is not null
    group by closed_month, stage
)

select
    m.month_start,
    m.snapshot_date,
    s.stage,
    s.stage_order,
    coalesce(oe.open_opportunities, 0) as open_opportunities,
    coalesce(oe.open_amount, 0) as open_amount,
    coalesce(oe.weighted_amount, 0) as weighted_amount,
    coalesce(c.created_opportunities, 0) as created_opportunities,
    coalesce(c.created_amount, 0) as created_amount,
    coalesce(cl.won_opportunities, 0) as won_opportunities,
    coalesce(cl.won_amount, 0) as won_amount,
    coalesce(cl.lost_opportunities, 0) as lost_opportunities,
    coalesce(cl.lost_amount, 0) as lost_amount
from month_ends as m
cross join stages as s
left join open_at_month_end as oe on oe.month_start = m.month_start and oe.stage = s.stage
left join created as c on c.month_start = m.month_start and c.stage = s.stage
left join closed as cl on cl.month_start = m.month_start and cl.stage = s.stage
