-- Customers: the Stripe customer joined to its application organisation.
select
    c.customer_id,
    c.organization_id,
    coalesce(o.organization_name, c.customer_name) as customer_name,
    c.email,
    coalesce(o.country, c.country) as country,
    c.currency,
    coalesce(c.segment, 'unknown') as segment,
    o.industry,
    o.employee_count,
    o.acquisition_channel,
    c.created_at,
    {{ month_start('c.created_at') }} as signup_month
from {{ ref('stg_stripe__customers') }} as c
left join {{ ref('stg_supabase__organizations') }} as o on o.organization_id = c.organization_id
