select
    id as feature_event_id,
    organization_id,
    user_id,
    feature,
    occurred_at,
    cast(occurred_at as date) as occurred_on
from {{ source('supabase', 'feature_events') }}
