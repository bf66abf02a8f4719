{{ config(materialized='incremental', unique_key=['organization_id', 'date_day']) }}
-- API usage per organisation per day (all endpoints together). Incremental: each run reprocesses
-- the last `incremental_lookback_days` days so late usage rows land. latency_p95_ms: from the
-- organisation's merged latency histogram over its endpoints (macro latency_quantile).
with usage as (
    select * from {{ ref('stg_usage__api_requests') }}
    {% if is_incremental() %}
    where request_date >= (select {{ add_days('max(date_day)', -var('incremental_lookback_days', 7)) }} from {{ this }})
    {% endif %}
),

daily as (
    select
        organization_id,
        request_date as date_day,
        sum(requests) as requests,
        sum(errors) as errors,
        count(distinct case when requests > 0 then endpoint end) as endpoints_used,
        {{ latency_requests_within() }}
    from usage
    group by organization_id, request_date
)

select
    daily.organization_id,
    customers.customer_id,
    daily.date_day,
    daily.requests,
    daily.errors,
    {{ safe_divide('daily.errors * 1.0', 'daily.requests') }} as error_rate,
    daily.endpoints_used,
    {{ latency_quantile(0.95, 'daily.requests', 'daily.requests_within_') }} as latency_p95_ms
from daily
left join {{ ref('dim_customers') }} as customers on customers.organization_id = daily.organization_id
