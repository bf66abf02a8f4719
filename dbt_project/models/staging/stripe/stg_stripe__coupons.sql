select
    id as coupon_id,
    name as coupon_name,
    duration,
    duration_in_months,
    percent_off,
    {{ from_unix('created') }} as created_at
from {{ source('stripe', 'coupons') }}
