-- API usage and in-app engagement per customer per ISO week (Monday start), for the weeks in
-- which the customer held a subscription on at least one day.
with customer_weeks as (
    select
        customer_id,
        organization_id,
        {{ week_start('date_day') }} as week_start,
        count(*) as customer_days,
        max(seats) as seats,
        max(plan_tier) as plan_tier
    from {{ ref('int_customer_success__customer_days') }}
    group by customer_id, organization_id, {{ week_start('date_day') }}
),

usage as (
    select
        organization_id,
        {{ week_start('date_day') }} as week_start,
        sum(api_requests) as api_requests,
        sum(api_errors) as api_errors,
        sum(case when api_requests > 0 then 1 else 0 end) as active_api_days,
        max(endpoints_used) as max_endpoints_used
    from {{ ref('int_customer_success__usage_daily') }}
    group by organization_id, {{ week_start('date_day') }}
),

features as (
    select
        organization_id,
        {{ week_start('occurred_on') }} as week_start,
        count(*) as feature_events,
        count(distinct user_id) as active_users,
        count(distinct feature) as distinct_features,
        -- a session proxy: one session per user per active day (no session ids in the source)
        count(distinct concat(coalesce(user_id, ''), '|', cast(occurred_on as {{ type_string() }}))) as sessions_proxy
    from {{ ref('stg_supabase__feature_events') }}
    group by organization_id, {{ week_start('occurred_on') }}
)

select
    customer_weeks.customer_id,
    customer_weeks.organization_id,
    customer_weeks.week_start,
    customer_weeks.customer_days,
    customer_weeks.seats,
    customer_weeks.plan_tier,
    coalesce(usage.api_requests, 0) as api_requests,
    coalesce(usage.api_errors, 0) as api_errors,
    {{ safe_divide('1.0 * coalesce(usage.api_errors, 0)', 'coalesce(usage.api_requests, 0)') }} as api_error_rate,
    coalesce(usage.active_api_days, 0) as active_api_days,
    coalesce(usage.max_endpoints_used, 0) as max_endpoints_used,
    coalesce(features.active_users, 0) as active_users,
    coalesce(features.feature_events, 0) as feature_events,
    coalesce(features.distinct_features, 0) as distinct_features,
    coalesce(features.sessions_proxy, 0) as sessions_proxy,
    {{ safe_divide('1.0 * coalesce(features.active_users, 0)', 'customer_weeks.seats') }} as active_users_per_seat
from customer_weeks
left join usage on usage.organization_id = customer_weeks.organization_id and usage.week_start = customer_weeks.week_start
left join features on features.organization_id = customer_weeks.organization_id and features.week_start = customer_weeks.week_start
