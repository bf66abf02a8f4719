-- Each current customer's plan: the licensed plan item of its active or past_due subscriptions
-- (trials are not customers yet). With several plan items the one with the largest request
-- allowance wins (then the most seats).
with items as (
    select
        subs.customer_id,
        subs.subscription_id,
        subs.status as subscription_status,
        items.product_id,
        items.quantity as seats,
        products.tier as plan_tier,
        products.api_requests_included,
        products.seats_included_max
    from {{ ref('stg_stripe__subscriptions') }} as subs
    inner join {{ ref('stg_stripe__subscription_items') }} as items on items.subscription_id = subs.subscription_id
    inner join {{ ref('stg_stripe__products') }} as products on products.product_id = items.product_id
    where subs.status in ('active', 'past_due')
        and subs.subscription_kind = 'plan'
        and items.usage_type = 'licensed'
        and products.api_requests_included is not null
)

select
    customer_id,
    subscription_id,
    subscription_status,
    product_id,
    plan_tier,
    seats,
    api_requests_included,
    seats_included_max
from items
where true  -- BigQuery wants a WHERE, GROUP BY or HAVING next to QUALIFY
qualify row_number() over (
    partition by customer_id
    order by api_requests_included desc, seats desc, subscription_id
) = 1
