-- Every price with its plan and its monthly-normalised unit amount (see DECISIONLOG "MRR").
select
    prices.price_id,
    prices.product_id,
    products.product_name,
    coalesce(products.tier, products.product_key) as plan_tier,
    prices.currency,
    prices.billing_interval,
    prices.interval_count,
    prices.usage_type,
    prices.unit_amount,
    {{ monthly_amount('prices.unit_amount', 'prices.billing_interval', 'prices.interval_count') }} as monthly_unit_amount,
    products.api_requests_included,
    products.seats_included_max
from {{ ref('stg_stripe__prices') }} as prices
left join {{ ref('stg_stripe__products') }} as products using (product_id)
