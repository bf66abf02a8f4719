{{ config(meta={'dagster': {'ref': {'name': 'fct_funnel_monthly'}}}) }}
-- The funnel narrows at every stage, and fct_funnel_monthly counts every lead once.
with totals as (
    select sum(leads) as leads from {{ ref('fct_funnel_monthly') }}
),

source as (
    select count(*) as leads from {{ ref('stg_supabase__leads') }}
),

not_monotonic as (
    select count(*) as n
    from {{ ref('fct_funnel_monthly') }}
    where not (leads >= mqls and mqls >= sqls and sqls >= opportunities and opportunities >= customers)
)

select totals.leads, source.leads as source_leads, not_monotonic.n
from totals cross join source cross join not_monotonic
where totals.leads != source.leads or not_monotonic.n > 0
