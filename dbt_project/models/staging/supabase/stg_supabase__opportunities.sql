select
    id as opportunity_id,
    lead_id,
    organization_id,
    name as opportunity_name,
    stage,
    amount,
    lower(currency) as currency,
    probability,
    owner,
    created_at,
    cast(close_date as date) as close_date,
    closed_at,
    updated_at
from {{ source('supabase', 'opportunities') }}
