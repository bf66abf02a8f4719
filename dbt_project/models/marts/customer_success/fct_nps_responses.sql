-- Every NPS survey answer with its customer and segment: the grain the NPS metrics aggregate.
select
    nps.nps_response_id,
    nps.organization_id,
    customers.customer_id,
    coalesce(customers.segment, 'unknown') as segment,
    nps.user_id,
    nps.survey,
    nps.created_at,
    nps.responded_on,
    {{ month_start('nps.responded_on') }} as response_month,
    nps.score,
    nps.nps_category,
    case when nps.nps_category = 'promoter' then 1 else 0 end as is_promoter,
    case when nps.nps_category = 'passive' then 1 else 0 end as is_passive,
    case when nps.nps_category = 'detractor' then 1 else 0 end as is_detractor
from {{ ref('stg_supabase__nps_responses') }} as nps
left join {{ ref('dim_customers') }} as customers on customers.organization_id = nps.organization_id
