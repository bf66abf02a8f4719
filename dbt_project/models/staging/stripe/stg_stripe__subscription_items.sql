select
    items.id as subscription_item_id,
    subs.id as subscription_id,
    items.price__id as price_id,
    items.price__product as product_id,
    items.quantity,
    items.price__unit_amount as unit_amount,
    lower(items.price__currency) as currency,
    items.price__recurring__interval as billing_interval,
    coalesce(items.price__recurring__interval_count, 1) as interval_count,
    coalesce(items.price__recurring__usage_type, 'licensed') as usage_type,
    {{ from_unix('items.current_period_start') }} as current_period_start_at,
    {{ from_unix('items.current_period_end') }} as current_period_end_at
from {{ source('stripe', 'subscriptions__items__data') }} as items
inner join {{ source('stripe', 'subscriptions') }} as subs on items._dlt_parent_id = subs._dlt_id
