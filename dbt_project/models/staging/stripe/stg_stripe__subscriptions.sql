select
    id as subscription_id,
    customer as customer_id,
    metadata__organization_id as organization_id,
    coalesce(metadata__kind, 'plan') as subscription_kind,
    status,
    lower(currency) as currency,
    cancel_at_period_end,
    cancellation_details__reason as cancel_reason,
    cancellation_details__feedback as cancel_feedback,
    {{ from_unix('created') }} as created_at,
    {{ from_unix('start_date') }} as started_at,
    {{ from_unix('trial_start') }} as trial_start_at,
    {{ from_unix('trial_end') }} as trial_end_at,
    {{ from_unix('cancel_at') }} as cancel_at,
    {{ from_unix('canceled_at') }} as canceled_at,
    {{ from_unix('ended_at') }} as ended_at
from {{ source('stripe', 'subscriptions') }}
