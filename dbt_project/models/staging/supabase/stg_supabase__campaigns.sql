select
    id as campaign_id,
    name as campaign_name,
    channel,
    type as campaign_type,
    status,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    budget,
    spend,
    target_segment,
    created_at,
    updated_at
from {{ source('supabase', 'campaigns') }}
