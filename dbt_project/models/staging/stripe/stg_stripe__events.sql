select
    id as event_id,
    type as event_type,
    {{ json_text('data', '$.object.id') }} as object_id,
    {{ json_text('data', '$.object.object') }} as object_type,
    {{ json_text('data', '$.object.customer') }} as customer_id,
    {{ from_unix('created') }} as created_at
from {{ source('stripe', 'events') }}
