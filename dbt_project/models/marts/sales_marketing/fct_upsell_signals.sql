-- Upsell signals for each current customer, as of the last day with usage data (so the demo and
-- replays are deterministic): API requests in the last 30 days against the plan's included
-- monthly requests, seats against the plan's seat maximum, seat utilisation = users active in the
-- last 30 days (a feature event) / seats, usage growth = last 30 days / the 30 before - 1 (DECISIONLOG "Upsell").
-- The seat signal (seat_pressure) asks more than one full month: seats full in the last 30 days
-- AND in the 30 before (sustained) AND more active users than then (the team is still growing
-- into seats it has already filled). A single month at >= 90% (seats_full) is a state, not a
-- buying signal: with unenforced seat limits most small teams sit there (81% of customers in the
-- first demo). seats_full stays as a column; only seat_pressure counts towards the priority.
{% set usage_threshold = var('upsell_usage_threshold', 0.8) %}
{% set seat_threshold = var('upsell_seat_utilisation_threshold', 0.9) %}
{% set growth_threshold = var('upsell_growth_threshold', 0.25) %}
with as_of as (
    select max(date_day) as as_of_date from {{ ref('fct_api_metrics_account_daily') }}
),

plans as (
    select * from {{ ref('int_customer_current_plan') }}
),

customers as (
    select customer_id, organization_id, customer_name, segment from {{ ref('dim_customers') }}
),

usage as (
    select
        u.customer_id,
        sum(case when u.date_day > {{ add_days('a.as_of_date', -30) }} then u.requests else 0 end) as requests_30d,
        sum(case when u.date_day <= {{ add_days('a.as_of_date', -30) }} then u.requests else 0 end) as requests_prev_30d
    from {{ ref('fct_api_metrics_account_daily') }} as u
    cross join as_of as a
    where u.date_day > {{ add_days('a.as_of_date', -60) }}
        and u.date_day <= a.as_of_date
        and u.customer_id is not null
    group by u.customer_id
),

members as (
    select organization_id, count(*) as users
    from {{ ref('stg_supabase__users') }}
    group by organization_id
),

active_users as (
    select
        events.organization_id,
        count(distinct case when events.occurred_on > {{ add_days('a.as_of_date', -30) }} then events.user_id end)
            as active_users_30d,
        count(distinct case when events.occurred_on <= {{ add_days('a.as_of_date', -30) }} then events.user_id end)
            as active_users_prev_30d
    from {{ ref('stg_supabase__feature_events') }} as events
    cross join as_of as a
    where events.occurred_on > {{ add_days('a.as_of_date', -60) }}
        and events.occurred_on <= a.as_of_date
        and events.user_id is not null
    group by events.organization_id
),

mrr as (
    select m.customer_id, m.mrr
    from {{ ref('fct_mrr_daily') }} as m
    inner join as_of as a on m.date_day = a.as_of_date
),

measured as (
    select
        plans.customer_id,
        customers.organization_id,
        customers.customer_name,
        coalesce(customers.segment, 'unknown') as segment,
        a.as_of_date,
        plans.plan_tier,
        plans.subscription_status,
        coalesce(mrr.mrr, 0) as current_mrr,
        plans.api_requests_included,
        coalesce(usage.requests_30d, 0) as requests_30d,
        coalesce(usage.requests_prev_30d, 0) as requests_prev_30d,
        {{ safe_divide('coalesce(usage.requests_30d, 0) * 1.0', 'plans.api_requests_included') }} as usage_pct_of_included,
        {{ safe_divide('usage.requests_30d * 1.0', 'usage.requests_prev_30d') }} - 1 as usage_growth,
        plans.seats,
        plans.seats_included_max,
        {{ safe_divide('plans.seats * 1.0', 'plans.seats_included_max') }} as seats_pct_of_plan_max,
        coalesce(members.users, 0) as users,
        coalesce(active_users.active_users_30d, 0) as active_users_30d,
        {{ safe_divide('coalesce(active_users.active_users_30d, 0) * 1.0', 'plans.seats') }} as seat_utilisation,
        coalesce(active_users.active_users_prev_30d, 0) as active_users_prev_30d,
        {{ safe_divide('coalesce(active_users.active_users_prev_30d, 0) * 1.0', 'plans.seats') }} as seat_utilisation_prev_30d
    from plans
    cross join as_of as a
    left join customers on customers.customer_id = plans.customer_id
    left join usage on usage.customer_id = plans.customer_id
    left join members on members.organization_id = customers.organization_id
    left join active_users on active_users.organization_id = customers.organization_id
    left join mrr on mrr.customer_id = plans.customer_id
),

flagged as (
    select
        *,
        case when usage_pct_of_included >= {{ usage_threshold }} then true else false end as near_usage_limit,
        case when seat_utilisation >= {{ seat_threshold }} then true else false end as seats_full,
        case
            when seat_utilisation >= {{ seat_threshold }}
                and seat_utilisation_prev_30d >= {{ seat_threshold }}
                and active_users_30d > active_users_prev_30d
            then true else false
        end as seat_pressure,
        case when seats >= seats_included_max then true else false end as at_plan_seat_max,
        case when usage_growth >= {{ growth_threshold }} then true else false end as growing_fast
    from measured
)

select
    *,
    (case when near_usage_limit then 1 else 0 end)
        + (case when seat_pressure then 1 else 0 end)
        + (case when at_plan_seat_max then 1 else 0 end)
        + (case when growing_fast then 1 else 0 end) as signal_count,
    case
        when usage_pct_of_included >= 1
            or (case when near_usage_limit then 1 else 0 end)
             + (case when seat_pressure then 1 else 0 end)
             + (case when at_plan_seat_max then 1 else 0 end)
             + (case when growing_fast then 1 else 0 end) >= 2
        then 'high'
        when near_usage_limit or seat_pressure or at_plan_seat_max or growing_fast then 'medium'
        else 'none'
    end as priority
from flagged
