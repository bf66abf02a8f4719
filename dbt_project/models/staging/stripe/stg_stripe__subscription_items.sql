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
from {{ dlt_child('stripe', 'subscriptions', 'items__data', {
    'id': type_string(), 'quantity': type_int(), 'price__id': type_string(), 'price__product': type_string(),
    'price__unit_amount': type_int(), 'price__currency': type_string(), 'price__recurring__interval': type_string(),
    'price__recurring__interval_count': type_int(), 'price__recurring__usage_type': type_string(),
    'current_period_start': type_int(), 'current_period_end': type_int(), '_dlt_parent_id': type_string()}) }} as items
inner join {{ source('stripe', 'subscriptions') }} as subs on items._dlt_parent_id = subs._dlt_id
