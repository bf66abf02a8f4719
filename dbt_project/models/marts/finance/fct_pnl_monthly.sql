-- A simple P&L per month in usd. Revenue = recognised revenue; cost of revenue and gross profit
-- from fct_gross_margin_monthly; operating expenses per department from
-- fct_budget_vs_actual_monthly: the actual where its coverage is 'full', else the budget as a
-- proxy (sales_marketing: the larger of budget and campaign spend, since campaign spend is only
-- part of that department). Infrastructure is not an operating expense here: its spend is the
-- cloud bill, already in cost of revenue. The support share of customer_success counted in cost
-- of revenue (var cogs_support_cost_share) is taken out of its operating expense.
{%- set support_share = var('cogs_support_cost_share', 0) | float %}
{%- set departments = ['sales_marketing', 'research_development', 'general_admin', 'customer_success'] %}
with margin as (
    select * from {{ ref('fct_gross_margin_monthly') }}
),

opex as (
    select
        month_start,
        department,
        case
            when department = 'infrastructure' then 0
            when actual_coverage = 'full' then actual_usd
            when actual_coverage = 'partial'
                then case when coalesce(actual_usd, 0) > coalesce(budget_usd, 0) then actual_usd else budget_usd end
            when department = 'customer_success' then budget_usd * (1 - {{ support_share }})
            else budget_usd
        end as opex_usd,
        case when department <> 'infrastructure' and actual_coverage <> 'full' then 1 else 0 end as is_budget_proxy,
        case when department = 'sales_marketing' then actual_usd end as campaign_spend_usd
    from {{ ref('fct_budget_vs_actual_monthly') }}
),

opex_monthly as (
    select
        month_start,
        {%- for d in departments %}
        sum(case when department = '{{ d }}' then opex_usd end) as opex_{{ d }}_usd,
        {%- endfor %}
        sum(case when department not in ('{{ departments | join("', '") }}', 'infrastructure') then opex_usd end) as opex_other_usd,
        sum(opex_usd) as total_opex_usd,
        sum(case when is_budget_proxy = 1 then opex_usd else 0 end) as opex_budget_proxy_usd,
        sum(campaign_spend_usd) as campaign_spend_usd
    from opex
    group by month_start
)

select
    margin.month_start,
    margin.revenue_usd,
    margin.cost_of_revenue_usd,
    margin.gross_profit_usd,
    margin.gross_margin_pct,
    {%- for d in departments %}
    coalesce(opex_monthly.opex_{{ d }}_usd, 0) as opex_{{ d }}_usd,
    {%- endfor %}
    coalesce(opex_monthly.opex_other_usd, 0) as opex_other_usd,
    coalesce(opex_monthly.total_opex_usd, 0) as total_opex_usd,
    margin.gross_profit_usd - coalesce(opex_monthly.total_opex_usd, 0) as operating_income_usd,
    {{ safe_divide('margin.gross_profit_usd - coalesce(opex_monthly.total_opex_usd, 0)', 'margin.revenue_usd') }} as operating_margin_pct,
    coalesce(opex_monthly.opex_budget_proxy_usd, 0) as opex_budget_proxy_usd,
    coalesce(opex_monthly.opex_budget_proxy_usd, 0) > 0 as has_budget_proxy,
    opex_monthly.month_start is null as is_missing_opex,
    opex_monthly.campaign_spend_usd,
    margin.is_closed_month
from margin
left join opex_monthly on opex_monthly.month_start = margin.month_start
