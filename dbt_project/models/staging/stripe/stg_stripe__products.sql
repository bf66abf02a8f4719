select
    id as product_id,
    name as product_name,
    metadata__key as product_key,
    metadata__tier as tier,
    cast(metadata__api_requests_included as {{ type_int() }}) as api_requests_included,
    cast(metadata__seats_included_max as {{ type_int() }}) as seats_included_max,
    active as is_active,
    {{ from_unix('created') }} as created_at
from {{ source('stripe', 'products') }}
