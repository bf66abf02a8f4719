-- Unit economics per month (usd), DESIGN.md "Metric definitions" / DECISIONLOG "LTV", "CAC":
--   LTV = ARPA x gross margin / monthly logo churn, churn = trailing 3-month pooled logo churn
--         (churned customers / customers at start, summed over the month and the 2 before),
--         floored at var ltv_min_monthly_churn;
--   CAC = sales & marketing spend / new customers. var cac_spend_basis: 'fully_loaded'
--         (default) = the larger of the sales_marketing budget (the only figure covering the
--         whole department: salaries, tools, programmes) and the campaign spend it contains, the
--         same figure the P&L uses; 'campaign_spend' = campaign spend only (spread evenly over
--         campaign days). paid_cac_usd always shows the campaign-only figure;
--   payback months = CAC / (new-customer ARPA x gross margin).
-- Gross margin = the month's gross_margin_pct, or var gross_margin_fallback when unknown.
{%- set churn_floor = var('ltv_min_monthly_churn', 0.005) | float %}
{%- set gm_fallback = var('gross_margin_fallback', 0.8) | float %}
{%- set spend_basis = var('cac_spend_basis', 'fully_loaded') %}
{%- if spend_basis not in ['fully_loaded', 'campaign_spend'] %}
{{ exceptions.raise_compiler_error("var cac_spend_basis must be 'fully_loaded' or 'campaign_spend', got '" ~ spend_basis ~ "'") }}
{%- endif %}
with mrr as (
    select * from {{ ref('fct_mrr_summary_monthly') }}
),

margin as (
    select month_start, gross_margin_pct, is_closed_month
    from {{ ref('fct_gross_margin_monthly') }}
),

sales_marketing as (
    select
        month_start,
        actual_usd as campaign_spend_usd,
        budget_usd as sales_marketing_budget_usd
    from {{ ref('fct_budget_vs_actual_monthly') }}
    where department = 'sales_marketing'
),

base as (
    select
        mrr.month_start,
        mrr.paying_customers_start,
        mrr.paying_customers_end,
        mrr.new_customers,
        mrr.churned_customers,
        mrr.ending_mrr,
        mrr.new_mrr,
        mrr.arpa,
        {{ safe_divide('mrr.new_mrr', 'mrr.new_customers') }} as new_customer_arpa,
        mrr.logo_churn_rate,
        {{ safe_divide(
            'sum(mrr.churned_customers) over (order by mrr.month_start rows between 2 preceding and current row) * 1.0',
            'sum(mrr.paying_customers_start) over (order by mrr.month_start rows between 2 preceding and current row)') }}
            as logo_churn_rate_3m,
        margin.gross_margin_pct as gross_margin_pct_actual,
        coalesce(margin.gross_margin_pct, {{ gm_fallback }}) as gross_margin_pct,
        margin.gross_margin_pct is null as is_gross_margin_fallback,
        coalesce(sales_marketing.campaign_spend_usd, 0) as campaign_spend_usd,
        sales_marketing.sales_marketing_budget_usd,
        {% if spend_basis == 'campaign_spend' -%}
        coalesce(sales_marketing.campaign_spend_usd, 0)
        {%- else -%}
        case
            when coalesce(sales_marketing.campaign_spend_usd, 0) > coalesce(sales_marketing.sales_marketing_budget_usd, 0)
                then coalesce(sales_marketing.campaign_spend_usd, 0)
            else coalesce(sales_marketing.sales_marketing_budget_usd, 0)
        end
        {%- endif %} as sales_marketing_spend_usd,
        coalesce(margin.is_closed_month, false) as is_closed_month
    from mrr
    left join margin on margin.month_start = mrr.month_start
    left join sales_marketing on sales_marketing.month_start = mrr.month_start
),

with_churn as (
    select
        base.*,
        case
            when logo_churn_rate_3m is null or logo_churn_rate_3m < {{ churn_floor }} then {{ churn_floor }}
            else logo_churn_rate_3m
        end as ltv_churn_rate
    from base
)

select
    month_start,
    paying_customers_start,
    paying_customers_end,
    new_customers,
    churned_customers,
    ending_mrr,
    new_mrr,
    arpa,
    new_customer_arpa,
    gross_margin_pct,
    gross_margin_pct_actual,
    is_gross_margin_fallback,
    logo_churn_rate,
    logo_churn_rate_3m,
    ltv_churn_rate,
    logo_churn_rate_3m is null or logo_churn_rate_3m < {{ churn_floor }} as is_churn_floored,
    arpa * gross_margin_pct / ltv_churn_rate as ltv_usd,
    campaign_spend_usd,
    sales_marketing_budget_usd,
    sales_marketing_spend_usd,
    {{ safe_divide('sales_marketing_spend_usd', 'new_customers') }} as cac_usd,
    {{ safe_divide('campaign_spend_usd', 'new_customers') }} as paid_cac_usd,
    {{ safe_divide(safe_divide('sales_marketing_spend_usd', 'new_customers'), 'new_customer_arpa * gross_margin_pct') }} as payback_months,
    -- new MRR x gross margin: the monthly gross profit bought by this month's spend
    -- (payback_months = sales_marketing_spend_usd / new_mrr_gross_profit_usd)
    new_mrr * gross_margin_pct as new_mrr_gross_profit_usd,
    arpa * gross_margin_pct / ltv_churn_rate / nullif({{ safe_divide('sales_marketing_spend_usd', 'new_customers') }}, 0) as ltv_to_cac,
    is_closed_month
from with_churn
