select
    id as charge_id,
    customer as customer_id,
    payment_intent as payment_intent_id,
    lower(currency) as currency,
    amount,
    amount_refunded,
    status,
    status = 'succeeded' as is_successful,
    failure_code,
    failure_message,
    outcome__type as outcome_type,
    {{ from_unix('created') }} as created_at
from {{ source('stripe', 'charges') }}
