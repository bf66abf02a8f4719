select
    id as ticket_id,
    organization_id,
    opened_by as user_id,
    subject,
    category,
    priority,
    status,
    csat_score,
    created_at,
    resolved_at,
    {{ hours_between('created_at', 'resolved_at') }} as resolution_hours,
    updated_at
from {{ source('supabase', 'support_tickets') }}
