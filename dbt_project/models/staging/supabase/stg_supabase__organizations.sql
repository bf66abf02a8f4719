select
    id as organization_id,
    name as organization_name,
    slug,
    stripe_customer_id as customer_id,
    industry,
    employee_count,
    country,
    acquisition_channel,
    created_at,
    updated_at
from {{ source('supabase', 'organizations') }}
