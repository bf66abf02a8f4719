{%- set thresholds = cs_setting('usage_pattern_thresholds') -%}
-- API usage pattern per customer over the 84 days (12 weeks) up to its last customer day (the
-- as-of date for current customers): trend of the last 28 days against the 56 before, weekday
-- share, peak endpoint and peak day of the week.
with customer_days as (
    select customer_id, organization_id, date_day, period_start_date
    from {{ ref('int_customer_success__customer_days') }}
),

customers as (
    select
        customer_id,
        organization_id,
        min(date_day) as first_customer_day,
        max(date_day) as last_customer_day,
        max(case when date_day = as_of_date then 1 else 0 end) = 1 as is_current_customer
    from {{ ref('int_customer_success__customer_days') }}
    group by customer_id, organization_id
),

window_days as (
    -- the customer days inside the customer's 84-day window, labelled by part
    select
        customer_days.customer_id,
        customer_days.organization_id,
        customer_days.date_day,
        case
            when customer_days.date_day > {{ add_days('customers.last_customer_day', -14) }} then 'last_14'
            when customer_days.date_day > {{ add_days('customers.last_customer_day', -28) }} then 'days_15_28'
            else 'prior_56'
        end as window_part
    from customer_days
    inner join customers on customers.customer_id = customer_days.customer_id
    where customer_days.date_day > {{ add_days('customers.last_customer_day', -84) }}
),

endpoint_days as (
    select
        window_days.customer_id,
        window_days.date_day,
        window_days.window_part,
        api.endpoint,
        api.requests,
        api.errors
    from window_days
    inner join {{ ref('stg_usage__api_requests') }} as api
        on api.organization_id = window_days.organization_id and api.request_date = window_days.date_day
),

day_counts as (
    select
        customer_id,
        sum(case when window_part in ('last_14', 'days_15_28') then 1 else 0 end) as days_last_28,
        sum(case when window_part = 'prior_56' then 1 else 0 end) as days_prior_56
    from window_days
    group by customer_id
),

totals as (
    select
        customer_id,
        sum(requests) as requests_84d,
        sum(case when window_part = 'last_14' then requests else 0 end) as requests_last_14d,
        sum(case when window_part in ('last_14', 'days_15_28') then requests else 0 end) as requests_last_28d,
        sum(case when window_part = 'prior_56' then requests else 0 end) as requests_prior_56d,
        sum(case when window_part in ('last_14', 'days_15_28') then errors else 0 end) as errors_last_28d,
        sum(case when {{ iso_day_of_week('date_day') }} <= 5 then requests else 0 end) as weekday_requests_84d
    from endpoint_days
    group by customer_id
),

peak_endpoint as (
    select customer_id, endpoint as peak_endpoint, endpoint_requests as peak_endpoint_requests
    from (
        select customer_id, endpoint, sum(requests) as endpoint_requests
        from endpoint_days
        group by customer_id, endpoint
    ) as by_endpoint
    where true  -- BigQuery wants a WHERE, GROUP BY or HAVING beside QUALIFY
    qualify row_number() over (partition by customer_id order by endpoint_requests desc, endpoint) = 1
),

peak_weekday as (
    select customer_id, iso_day_of_week as peak_iso_day_of_week
    from (
        select customer_id, {{ iso_day_of_week('date_day') }} as iso_day_of_week, sum(requests) as day_requests
        from endpoint_days
        group by customer_id, {{ iso_day_of_week('date_day') }}
    ) as by_weekday
    where true
    qualify row_number() over (partition by customer_id order by day_requests desc, iso_day_of_week) = 1
),

measured as (
    select
        customers.customer_id,
        customers.organization_id,
        customers.first_customer_day,
        customers.last_customer_day,
        customers.is_current_customer,
        day_counts.days_last_28,
        day_counts.days_prior_56,
        coalesce(totals.requests_84d, 0) as requests_84d,
        coalesce(totals.requests_last_14d, 0) as requests_last_14d,
        coalesce(totals.requests_last_28d, 0) as requests_last_28d,
        coalesce(totals.requests_prior_56d, 0) as requests_prior_56d,
        coalesce(totals.errors_last_28d, 0) as errors_last_28d,
        coalesce(totals.weekday_requests_84d, 0) as weekday_requests_84d,
        {{ safe_divide('1.0 * coalesce(totals.requests_last_28d, 0)', 'day_counts.days_last_28') }} as avg_daily_requests_28d,
        {{ safe_divide('1.0 * coalesce(totals.requests_prior_56d, 0)', 'day_counts.days_prior_56') }} as avg_daily_requests_prior_56d
    from customers
    inner join day_counts on day_counts.customer_id = customers.customer_id
    left join totals on totals.customer_id = customers.customer_id
)

select
    measured.customer_id,
    measured.organization_id,
    measured.is_current_customer,
    measured.first_customer_day,
    measured.last_customer_day as pattern_end_date,
    case
        when measured.requests_last_14d = 0 then 'dormant'
        -- under 4 weeks of history before the last 28 days: too new to call a trend
        when measured.days_prior_56 < 28 then 'new'
        when measured.avg_daily_requests_prior_56d = 0 then 'growing'
        when measured.avg_daily_requests_28d >= {{ thresholds['growing'] }} * measured.avg_daily_requests_prior_56d then 'growing'
        when measured.avg_daily_requests_28d <= {{ thresholds['declining'] }} * measured.avg_daily_requests_prior_56d then 'declining'
        else 'stable'
    end as usage_trend,
    round({{ safe_divide('measured.avg_daily_requests_28d', 'measured.avg_daily_requests_prior_56d') }}, 3) as usage_ratio_28d_vs_prior_56d,
    round(measured.avg_daily_requests_28d, 1) as avg_daily_requests_28d,
    round(measured.avg_daily_requests_prior_56d, 1) as avg_daily_requests_prior_56d,
    measured.requests_last_28d,
    {{ safe_divide('1.0 * measured.errors_last_28d', 'measured.requests_last_28d') }} as error_rate_28d,
    measured.requests_84d,
    round({{ safe_divide('1.0 * measured.weekday_requests_84d', 'measured.requests_84d') }}, 4) as weekday_share,
    peak_endpoint.peak_endpoint,
    round({{ safe_divide('1.0 * peak_endpoint.peak_endpoint_requests', 'measured.requests_84d') }}, 4) as peak_endpoint_share,
    peak_weekday.peak_iso_day_of_week
from measured
left join peak_endpoint on peak_endpoint.customer_id = measured.customer_id
left join peak_weekday on peak_weekday.customer_id = measured.customer_id
