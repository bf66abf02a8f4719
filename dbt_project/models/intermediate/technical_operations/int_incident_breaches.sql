-- Every threshold breach that can start an incident candidate, one row per breach:
--   error_rate      endpoint-day or platform-day: error rate > incident_error_rate_ratio x its
--                   trailing 28-day median and > incident_error_rate_floor, with and without
--                   the organisation with the most errors
--   latency_p95     endpoint-day: p95 latency > incident_latency_ratio x its trailing 28-day median
--   cpu_saturation  service-hour: cpu_pct > incident_cpu_pct
--   cpu_unexplained service-hour: cpu_pct >= incident_cpu_unexplained_points above what the
--                   service's load explains (int_service_cpu_expected_hourly)
-- Day breaches cover [day 00:00 UTC, next day 00:00); hour breaches [hour, hour + 1). An
-- endpoint-day needs `incident_min_daily_requests` requests and `incident_min_baseline_days` days
-- of history to count: a handful of requests (a new platform, a rarely used endpoint) makes rates
-- noise.
{% set error_ratio = var('incident_error_rate_ratio', 3) %}
{% set error_floor = var('incident_error_rate_floor', 0.02) %}
{% set latency_ratio = var('incident_latency_ratio', 2.0) %}
{% set cpu_pct = var('incident_cpu_pct', 90) %}
{% set cpu_points = var('incident_cpu_unexplained_points', 20) %}
{% set min_days = var('incident_min_baseline_days', 7) %}
{% set min_requests = var('incident_min_daily_requests', 1000) %}
with api as (
    select * from {{ ref('int_api_metrics_daily_baselines') }}
    where baseline_days >= {{ min_days }}
        and requests >= {{ min_requests }}
),

error_rate as (
    select
        scope,
        endpoint as subject,
        'error_rate' as breach_metric,
        'day' as breach_grain,
        date_day as breach_date,
        {{ techops_day_start('date_day') }} as window_start,
        {{ techops_day_start(add_days('date_day', 1)) }} as window_end,
        error_rate as observed_value,
        baseline_error_rate as baseline_value,
        {{ safe_divide('error_rate', 'baseline_error_rate') }} as magnitude
    from api
    where error_rate > {{ error_ratio }} * baseline_error_rate
        and error_rate > {{ error_floor }}
        -- still a breach without the organisation with the most errors: one customer's failing
        -- integration is that customer's problem, not a platform incident
        and error_rate_excluding_worst_account > {{ error_ratio }} * baseline_error_rate
        and error_rate_excluding_worst_account > {{ error_floor }}
),

latency as (
    select
        scope,
        endpoint as subject,
        'latency_p95' as breach_metric,
        'day' as breach_grain,
        date_day as breach_date,
        {{ techops_day_start('date_day') }} as window_start,
        {{ techops_day_start(add_days('date_day', 1)) }} as window_end,
        latency_p95_ms as observed_value,
        baseline_latency_p95_ms as baseline_value,
        {{ safe_divide('latency_p95_ms', 'baseline_latency_p95_ms') }} as magnitude
    from api
    where scope = 'endpoint'
        and latency_p95_ms > {{ latency_ratio }} * baseline_latency_p95_ms
),

infra as (
    select * from {{ ref('int_service_cpu_expected_hourly') }}
),

cpu_saturation as (
    select
        'service' as scope,
        service as subject,
        'cpu_saturation' as breach_metric,
        'hour' as breach_grain,
        {{ techops_utc_date('metric_hour') }} as breach_date,
        metric_hour as window_start,
        {{ techops_add_hours('metric_hour', 1) }} as window_end,
        cpu_pct as observed_value,
        cast({{ cpu_pct }} as {{ type_float() }}) as baseline_value,
        cpu_pct as magnitude
    from infra
    where cpu_pct > {{ cpu_pct }}
),

cpu_unexplained as (
    select
        'service' as scope,
        service as subject,
        'cpu_unexplained' as breach_metric,
        'hour' as breach_grain,
        {{ techops_utc_date('metric_hour') }} as breach_date,
        metric_hour as window_start,
        {{ techops_add_hours('metric_hour', 1) }} as window_end,
        cpu_pct as observed_value,
        expected_cpu_pct as baseline_value,
        unexplained_cpu_pct as magnitude
    from infra
    where fit_hours >= {{ min_days * 24 }}
        and unexplained_cpu_pct >= {{ cpu_points }}
),

breaches as (
    select * from error_rate
    union all
    select * from latency
    union all
    select * from cpu_saturation
    union all
    select * from cpu_unexplained
)

select
    *,
    {{ techops_breach_severity_rank('breach_metric', 'observed_value', 'magnitude') }} as severity_rank
from breaches
