select
    id as customer_id,
    metadata__organization_id as organization_id,
    name as customer_name,
    email,
    address__country as country,
    lower(currency) as currency,
    metadata__segment as segment,
    delinquent as is_delinquent,
    {{ from_unix('created') }} as created_at
from {{ source('stripe', 'customers') }}
