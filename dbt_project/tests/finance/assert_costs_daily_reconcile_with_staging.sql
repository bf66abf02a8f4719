-- Cloud costs in the mart equal staging, month by month (usd, 0.01 tolerance).
with mart as (
    select month_start, sum(cost_usd) as cost_usd from {{ ref('fct_costs_daily') }} group by month_start
),

staged as (
    select {{ month_start('cost_date') }} as month_start, sum(cost_usd) as cost_usd
    from {{ ref('stg_usage__cloud_costs') }}
    group by {{ month_start('cost_date') }}
)

select coalesce(mart.month_start, staged.month_start) as month_start, mart.cost_usd, staged.cost_usd as staged_cost_usd
from mart
full outer join staged on staged.month_start = mart.month_start
where abs(coalesce(mart.cost_usd, 0) - coalesce(staged.cost_usd, 0)) > 0.01
