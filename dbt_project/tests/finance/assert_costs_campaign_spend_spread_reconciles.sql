-- Spreading campaign spend over days keeps every campaign's total, and the sales_marketing
-- actuals of budget vs actual add up to all campaign spend (usd, 0.01 tolerance).
with spread as (
    select campaign_id, sum(spend_usd) as spend_usd
    from {{ ref('int_finance_campaign_spend_daily') }}
    group by campaign_id
),

per_campaign as (
    select campaigns.campaign_id, coalesce(campaigns.spend, 0) as spend, spread.spend_usd
    from {{ ref('stg_supabase__campaigns') }} as campaigns
    left join spread on spread.campaign_id = campaigns.campaign_id
    where campaigns.start_date is not null
),

totals as (
    select
        (select sum(spend) from per_campaign) as campaign_spend,
        (select sum(actual_usd) from {{ ref('fct_budget_vs_actual_monthly') }} where department = 'sales_marketing') as actual_usd
)

select campaign_id, spend, spend_usd
from per_campaign
where abs(spend - coalesce(spend_usd, 0)) > 0.01

union all

select 'all campaigns' as campaign_id, campaign_spend, actual_usd
from totals
where abs(campaign_spend - coalesce(actual_usd, 0)) > 0.01
