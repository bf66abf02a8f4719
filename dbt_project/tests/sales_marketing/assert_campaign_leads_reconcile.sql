{{ config(meta={'dagster': {'ref': {'name': 'fct_campaign_performance'}}}) }}
-- Every lead with a campaign is counted by exactly that campaign, and spend matches the CRM.
with attributed as (
    select count(*) as leads from {{ ref('fct_leads') }} where campaign_id is not null
),

performance as (
    select sum(leads) as leads, sum(spend) as spend from {{ ref('fct_campaign_performance') }}
),

source as (
    select sum(spend) as spend from {{ ref('stg_supabase__campaigns') }}
)

select attributed.leads, performance.leads as campaign_leads, performance.spend, source.spend as source_spend
from attributed cross join performance cross join source
where attributed.leads != performance.leads
   or abs(coalesce(performance.spend, 0) - coalesce(source.spend, 0)) > 0.01
