-- Budget against actual spend per month and department, in usd. Actuals exist for two
-- departments only: infrastructure (cloud costs) and sales_marketing (campaign spend, which is
-- the programme part of that department: coverage 'partial'). Others have no actuals source.
with budgets as (
    select
        budgets.budget_month as month_start,
        budgets.department,
        sum(budgets.amount * fx.rate_to_usd) as budget_usd
    from {{ ref('stg_supabase__budgets') }} as budgets
    left join {{ ref('fx_rates') }} as fx
        on fx.month_start = budgets.budget_month and fx.currency = budgets.currency
    group by budgets.budget_month, budgets.department
),

actuals as (
    select
        month_start,
        'infrastructure' as department,
        'cloud_costs' as actual_source,
        'full' as actual_coverage,
        sum(cost_usd) as actual_usd,
        max(cost_date) as actual_through_date
    from {{ ref('fct_costs_daily') }}
    group by month_start

    union all

    select
        month_start,
        'sales_marketing' as department,
        'campaign_spend' as actual_source,
        'partial' as actual_coverage,
        sum(spend_usd) as actual_usd,
        max(date_day) as actual_through_date
    from {{ ref('int_finance_campaign_spend_daily') }}
    group by month_start
),

department_months as (
    select month_start, department from budgets
    union distinct
    select month_start, department from actuals
)

select
    department_months.month_start,
    department_months.department,
    budgets.budget_usd,
    actuals.actual_usd,
    -- positive = spent more than budgeted
    actuals.actual_usd - budgets.budget_usd as variance_usd,
    {{ safe_divide('actuals.actual_usd - budgets.budget_usd', 'budgets.budget_usd') }} as variance_pct,
    actuals.actual_source,
    coalesce(actuals.actual_coverage, 'none') as actual_coverage,
    actuals.actual_through_date
from department_months
left join budgets
    on budgets.month_start = department_months.month_start and budgets.department = department_months.department
left join actuals
    on actuals.month_start = department_months.month_start and actuals.department = department_months.department
