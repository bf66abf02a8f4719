-- Campaign performance: spend against the leads and customers a campaign brought. The CRM records
-- budgets and spend in USD (campaigns carry no currency); the *_reporting columns convert them to
-- the reporting currency at the campaign's start month.
{% set reporting = var('reporting_currency') | lower %}
with campaigns as (
    select * from {{ ref('stg_supabase__campaigns') }}
),

leads as (
    select
        campaign_id,
        count(*) as leads,
        sum(case when reached_mql then 1 else 0 end) as mqls,
        sum(case when reached_sql then 1 else 0 end) as sqls,
        sum(case when reached_opportunity then 1 else 0 end) as opportunities,
        sum(case when is_converted then 1 else 0 end) as conversions,
        avg(days_to_convert) as avg_days_to_convert
    from {{ ref('fct_leads') }}
    where campaign_id is not null
    group by campaign_id
),

won as (
    select campaign_id, sum(amount_reporting) as won_amount_reporting
    from {{ ref('int_opportunities') }}
    where is_won and campaign_id is not null
    group by campaign_id
),

reporting_fx as (
    select month_start, cast(rate_to_usd as {{ type_float() }}) as rate_to_usd
    from {{ ref('fx_rates') }}
    where currency = '{{ reporting }}'
)

select
    campaigns.campaign_id,
    campaigns.campaign_name,
    campaigns.channel,
    campaigns.campaign_type,
    campaigns.status,
    campaigns.target_segment,
    campaigns.start_date,
    campaigns.end_date,
    campaigns.budget,
    campaigns.spend,
    campaigns.budget / reporting_fx.rate_to_usd as budget_reporting,
    campaigns.spend / reporting_fx.rate_to_usd as spend_reporting,
    {{ safe_divide('campaigns.spend', 'campaigns.budget') }} as budget_used_pct,
    coalesce(leads.leads, 0) as leads,
    coalesce(leads.mqls, 0) as mqls,
    coalesce(leads.sqls, 0) as sqls,
    coalesce(leads.opportunities, 0) as opportunities,
    coalesce(leads.conversions, 0) as conversions,
    {{ safe_divide('campaigns.spend / reporting_fx.rate_to_usd', 'leads.leads') }} as cost_per_lead,
    {{ safe_divide('campaigns.spend / reporting_fx.rate_to_usd', 'leads.conversions') }} as cost_per_acquisition,
    {{ safe_divide('leads.conversions * 1.0', 'leads.leads') }} as conversion_rate,
    leads.avg_days_to_convert,
    coalesce(won.won_amount_reporting, 0) as won_amount_reporting
from campaigns
left join leads on leads.campaign_id = campaigns.campaign_id
left join won on won.campaign_id = campaigns.campaign_id
left join reporting_fx on reporting_fx.month_start = {{ month_start('campaigns.start_date') }}
