select
    id as milestone_completion_id,
    organization_id,
    milestone,
    step,
    completed_at
from {{ source('supabase', 'onboarding_milestones') }}
