select
    id as refund_id,
    charge as charge_id,
    lower(currency) as currency,
    amount,
    reason,
    status,
    {{ from_unix('created') }} as created_at
from {{ source('stripe', 'refunds') }}
