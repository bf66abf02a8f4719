-- Gross margin inputs reconcile: revenue = recognised revenue of the month, infrastructure cost
-- = the month's cloud costs, gross profit = revenue - cost of revenue (usd, 0.01 tolerance).
with costs as (
    select month_start, sum(cost_usd) as cost_usd from {{ ref('fct_costs_daily') }} group by month_start
)

select
    margin.month_start,
    margin.revenue_usd,
    revenue.recognized_usd,
    margin.infrastructure_cost_usd,
    costs.cost_usd,
    margin.gross_profit_usd
from {{ ref('fct_gross_margin_monthly') }} as margin
left join {{ ref('fct_revenue_monthly') }} as revenue on revenue.month_start = margin.month_start
left join costs on costs.month_start = margin.month_start
where abs(margin.revenue_usd - coalesce(revenue.recognized_usd, 0)) > 0.01
   or abs(margin.infrastructure_cost_usd - coalesce(costs.cost_usd, 0)) > 0.01
   or abs(margin.gross_profit_usd - (margin.revenue_usd - margin.cost_of_revenue_usd)) > 0.01
