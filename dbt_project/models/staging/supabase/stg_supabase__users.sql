select
    id as user_id,
    organization_id,
    email,
    role,
    created_at,
    last_sign_in_at,
    updated_at
from {{ source('supabase', 'users') }}
