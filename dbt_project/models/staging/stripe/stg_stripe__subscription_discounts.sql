select
    d.id as discount_id,
    subs.id as subscription_id,
    d.customer as customer_id,
    d.source__coupon__id as coupon_id,
    d.source__coupon__duration as duration,
    d.source__coupon__percent_off as percent_off,
    {{ from_unix('d.start') }} as start_at,
    {{ from_unix('d.' ~ adapter.quote('end')) }} as end_at
from {{ dlt_child('stripe', 'subscriptions', 'discounts', {
    'id': type_string(), 'customer': type_string(), 'source__coupon__id': type_string(),
    'source__coupon__duration': type_string(), 'source__coupon__percent_off': type_float(),
    'start': type_int(), 'end': type_int(), '_dlt_parent_id': type_string()}) }} as d
inner join {{ source('stripe', 'subscriptions') }} as subs on d._dlt_parent_id = subs._dlt_id
