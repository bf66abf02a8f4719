{%- set weights = cs_setting('health_weights') -%}
{%- set neutral = cs_setting('health_neutral_score') -%}
{%- set total = weights['usage'] + weights['engagement'] + weights['support'] + weights['billing'] -%}
-- The latest health row of every current customer, with the factor that costs it the most points
-- below "as expected" (a factor score of var health_neutral_score is what a customer on its own
-- baseline scores, so only the shortfall from it drags).
with current_customers as (
    select customer_id, as_of_date, period_start_date
    from {{ ref('int_customer_success__customer_periods') }}
    where is_current
),

latest as (
    select
        health.*,
        current_customers.period_start_date,
        {{ weights['usage'] / total }} * ({{ neutral }} - health.usage_score) as usage_drag,
        {{ weights['engagement'] / total }} * ({{ neutral }} - health.engagement_score) as engagement_drag,
        {{ weights['support'] / total }} * ({{ neutral }} - health.support_score) as support_drag,
        {{ weights['billing'] / total }} * ({{ neutral }} - health.billing_score) as billing_drag
    from {{ ref('fct_customer_health_daily') }} as health
    inner join current_customers
        on current_customers.customer_id = health.customer_id and current_customers.as_of_date = health.date_day
)

select
    latest.customer_id,
    latest.organization_id,
    customers.customer_name,
    latest.segment,
    latest.plan_tier,
    latest.seats,
    latest.date_day as as_of_date,
    latest.period_start_date as customer_since,
    {{ days_between('latest.period_start_date', 'latest.date_day') }} + 1 as days_as_customer,
    latest.health_score,
    latest.usage_score,
    latest.engagement_score,
    latest.support_score,
    latest.billing_score,
    latest.risk_level,
    latest.trend,
    latest.score_change_28d,
    latest.score_slope_28d,
    case
        -- under one weighted point lost: nothing drags
        when greatest(usage_drag, engagement_drag, support_drag, billing_drag) < 1 then 'none'
        when usage_drag >= greatest(engagement_drag, support_drag, billing_drag) then 'usage'
        when engagement_drag >= greatest(support_drag, billing_drag) then 'engagement'
        when support_drag >= billing_drag then 'support'
        else 'billing'
    end as main_drag_factor,
    {{ round_decimal('greatest(0, usage_drag, engagement_drag, support_drag, billing_drag)', 1) }} as main_drag_points,
    latest.api_requests_14d,
    latest.active_users_28d,
    latest.tickets_30d,
    latest.open_priority_tickets,
    latest.failed_charges_30d,
    latest.past_due_invoices
from latest
left join {{ ref('dim_customers') }} as customers on customers.customer_id = latest.customer_id
