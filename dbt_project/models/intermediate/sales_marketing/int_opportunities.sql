-- Opportunities with their amounts in the reporting currency (FX rate of the close-date month,
-- crossing through USD like the finance models), win probability (the CRM's, else the stage
-- default) and their lead's source and campaign.
{% set reporting = var('reporting_currency') | lower %}
with opportunities as (
    select * from {{ ref('stg_supabase__opportunities') }}
),

fx as (
    select month_start, currency, cast(rate_to_usd as {{ type_float() }}) as rate_to_usd
    from {{ ref('fx_rates') }}
),

leads as (
    select lead_id, lead_source, campaign_id from {{ ref('stg_supabase__leads') }}
)

select
    opportunities.opportunity_id,
    opportunities.lead_id,
    opportunities.organization_id,
    customers.customer_id,
    opportunities.opportunity_name,
    opportunities.owner,
    opportunities.stage,
    {{ sm_stage_order('opportunities.stage') }} as stage_order,
    case when opportunities.stage not in ('closed_won', 'closed_lost') then true else false end as is_open,
    case when opportunities.stage = 'closed_won' then true else false end as is_won,
    case when opportunities.stage = 'closed_lost' then true else false end as is_lost,
    opportunities.amount,
    opportunities.currency,
    opportunities.amount * deal_fx.rate_to_usd / reporting_fx.rate_to_usd as amount_reporting,
    coalesce(opportunities.probability, {{ sm_stage_probability('opportunities.stage') }}) as probability,
    opportunities.created_at,
    {{ techops_utc_date('opportunities.created_at') }} as created_date,
    opportunities.close_date,
    opportunities.closed_at,
    {{ techops_utc_date('opportunities.closed_at') }} as closed_date,
    leads.lead_source,
    leads.campaign_id
from opportunities
left join leads on leads.lead_id = opportunities.lead_id
left join {{ ref('dim_customers') }} as customers on customers.organization_id = opportunities.organization_id
left join fx as deal_fx
    on deal_fx.currency = opportunities.currency
    and deal_fx.month_start = {{ month_start('opportunities.close_date') }}
left join fx as reporting_fx
    on reporting_fx.currency = '{{ reporting }}'
    and reporting_fx.month_start = {{ month_start('opportunities.close_date') }}
