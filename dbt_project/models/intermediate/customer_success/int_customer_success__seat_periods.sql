-- Seats and plan tier over time, from the plan subscription's invoice lines: each regular line
-- sets the quantity for its period, a positive proration line the new quantity from the change.
with lines as (
    select
        lines.customer_id,
        cast(lines.period_start_at as date) as valid_from,
        lines.period_start_at,
        lines.quantity as seats,
        plans.plan_tier
    from {{ ref('stg_stripe__invoice_lines') }} as lines
    inner join {{ ref('stg_stripe__subscriptions') }} as subs on subs.subscription_id = lines.subscription_id
    inner join {{ ref('dim_plans') }} as plans on plans.price_id = lines.price_id
    where subs.subscription_kind = 'plan'
      and plans.usage_type = 'licensed'
      and lines.quantity > 0
      and (not lines.is_proration or lines.amount > 0)
),

one_per_day as (
    select *
    from lines
    where true  -- BigQuery wants a WHERE, GROUP BY or HAVING beside QUALIFY
    qualify row_number() over (partition by customer_id, valid_from order by period_start_at desc, seats desc) = 1
)

select
    customer_id,
    valid_from,
    lead(valid_from) over (partition by customer_id order by valid_from) as valid_to,
    seats,
    plan_tier
from one_per_day
