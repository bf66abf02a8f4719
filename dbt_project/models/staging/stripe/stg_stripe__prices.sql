select
    id as price_id,
    product as product_id,
    lower(currency) as currency,
    unit_amount,
    recurring__interval as billing_interval,
    coalesce(recurring__interval_count, 1) as interval_count,
    coalesce(recurring__usage_type, 'licensed') as usage_type,
    lookup_key,
    active as is_active,
    {{ from_unix('created') }} as created_at
from {{ source('stripe', 'prices') }}
