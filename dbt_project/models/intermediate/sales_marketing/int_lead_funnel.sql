-- Each lead with how far down the funnel it got. The CRM keeps only a lead's current status, so
-- the stages it passed are inferred: a lead reached every stage before its current one, an
-- opportunity record proves the opportunity stage (some 'sql' and 'disqualified' leads have a
-- lost opportunity), and a converted organisation proves 'customer'. A disqualified lead without
-- an opportunity counts as a lead only (the source does not say where it was disqualified).
with leads as (
    select * from {{ ref('stg_supabase__leads') }}
),

opportunities as (
    select
        lead_id,
        count(*) as opportunity_count,
        min(created_at) as first_opportunity_at,
        max(case when stage = 'closed_won' then 1 else 0 end) as has_won_opportunity
    from {{ ref('stg_supabase__opportunities') }}
    where lead_id is not null
    group by lead_id
),

campaigns as (
    select campaign_id, campaign_name, channel as campaign_channel
    from {{ ref('stg_supabase__campaigns') }}
),

converted as (
    select
        organizations.organization_id,
        customers.customer_id,
        coalesce(customers.created_at, organizations.created_at) as converted_at
    from {{ ref('stg_supabase__organizations') }} as organizations
    left join {{ ref('dim_customers') }} as customers on customers.organization_id = organizations.organization_id
),

staged as (
    select
        leads.*,
        coalesce(opportunities.opportunity_count, 0) as opportunity_count,
        opportunities.first_opportunity_at,
        case when leads.converted_organization_id is not null then 'customer' else leads.status end as funnel_stage,
        greatest(
            {{ sm_funnel_stage_rank('leads.status') }},
            case when opportunities.lead_id is not null then 3 else 0 end,
            case when leads.converted_organization_id is not null or opportunities.has_won_opportunity = 1 then 4 else 0 end
        ) as furthest_stage_rank
    from leads
    left join opportunities on opportunities.lead_id = leads.lead_id
)

select
    staged.lead_id,
    staged.created_at,
    {{ techops_utc_date('staged.created_at') }} as created_date,
    {{ month_start(techops_utc_date('staged.created_at')) }} as created_month,
    staged.lead_source,
    staged.campaign_id,
    campaigns.campaign_name,
    campaigns.campaign_channel,
    staged.status,
    staged.funnel_stage,
    staged.furthest_stage_rank,
    case when staged.furthest_stage_rank >= 1 then true else false end as reached_mql,
    case when staged.furthest_stage_rank >= 2 then true else false end as reached_sql,
    case when staged.furthest_stage_rank >= 3 then true else false end as reached_opportunity,
    case when staged.furthest_stage_rank >= 4 then true else false end as is_converted,
    case when staged.funnel_stage = 'disqualified' then true else false end as is_disqualified,
    staged.opportunity_count,
    staged.first_opportunity_at,
    staged.converted_organization_id,
    converted.customer_id,
    converted.converted_at,
    case
        when converted.converted_at is not null
        then {{ days_between(techops_utc_date('staged.created_at'), techops_utc_date('converted.converted_at')) }}
    end as days_to_convert,
    staged.employee_count,
    staged.industry,
    staged.country,
    staged.job_title,
    staged.page_views,
    staged.pricing_page_views,
    staged.email_opens,
    staged.webinar_attended,
    staged.demo_requested
from staged
left join campaigns on campaigns.campaign_id = staged.campaign_id
left join converted on converted.organization_id = staged.converted_organization_id
