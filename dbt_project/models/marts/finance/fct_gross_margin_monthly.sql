-- Gross margin per month (usd): recognised revenue - cost of revenue. Cost of revenue = cloud
-- infrastructure costs + var cogs_support_cost_share x the customer_success budget (default
-- share 0: only infrastructure is COGS; DECISIONLOG "Cost of revenue").
{%- set support_share = var('cogs_support_cost_share', 0) | float %}
with revenue as (
    select month_start, recognized_usd, is_closed_month
    from {{ ref('fct_revenue_monthly') }}
),

infrastructure as (
    select month_start, sum(cost_usd) as infrastructure_cost_usd, max(cost_date) as cost_through_date
    from {{ ref('fct_costs_daily') }}
    where is_cost_of_revenue
    group by month_start
),

support as (
    select month_start, budget_usd * {{ support_share }} as support_cost_usd
    from {{ ref('fct_budget_vs_actual_monthly') }}
    where department = 'customer_success'
),

-- months with both revenue and cost data (a month without any cost row has no margin yet)
months as (
    select revenue.month_start
    from revenue
    inner join infrastructure on infrastructure.month_start = revenue.month_start
)

select
    months.month_start,
    coalesce(revenue.recognized_usd, 0) as revenue_usd,
    coalesce(infrastructure.infrastructure_cost_usd, 0) as infrastructure_cost_usd,
    coalesce(support.support_cost_usd, 0) as support_cost_usd,
    coalesce(infrastructure.infrastructure_cost_usd, 0) + coalesce(support.support_cost_usd, 0) as cost_of_revenue_usd,
    coalesce(revenue.recognized_usd, 0)
        - coalesce(infrastructure.infrastructure_cost_usd, 0) - coalesce(support.support_cost_usd, 0) as gross_profit_usd,
    {{ safe_divide(
        'coalesce(revenue.recognized_usd, 0) - coalesce(infrastructure.infrastructure_cost_usd, 0) - coalesce(support.support_cost_usd, 0)',
        'revenue.recognized_usd') }} as gross_margin_pct,
    infrastructure.cost_through_date,
    -- closed: revenue month closed and cost data through the month's last day
    coalesce(revenue.is_closed_month, false)
        and coalesce(infrastructure.cost_through_date = {{ add_days(add_months('months.month_start', 1), -1) }}, false)
        as is_closed_month
from months
left join revenue on revenue.month_start = months.month_start
left join infrastructure on infrastructure.month_start = months.month_start
left join support on support.month_start = months.month_start
