-- API metrics per endpoint per day. The issue asks for hours, but the usage source is daily per
-- organisation and endpoint: a day is the finest grain available (DECISIONLOG "API metric grain").
-- p50/p95/p99 are interpolated from the day's merged latency histogram; requests_within_<b>ms are
-- its cumulative bucket counts, which sum over any set of endpoint-days (the governed p95_latency
-- reads them, so it is exact at every grain and filter).
{% set error_ratio = var('incident_error_rate_ratio', 3) %}
{% set error_floor = var('incident_error_rate_floor', 0.02) %}
{% set latency_ratio = var('incident_latency_ratio', 2.0) %}
{% set min_days = var('incident_min_baseline_days', 7) %}
{% set min_requests = var('incident_min_daily_requests', 1000) %}
select
    date_day,
    endpoint,
    requests,
    errors,
    requests - errors as successful_requests,
    error_rate,
    latency_p50_ms,
    latency_p95_ms,
    latency_p99_ms,
    {%- for b in var('latency_buckets_ms') %}
    requests_within_{{ b }}ms,
    {%- endfor %}
    active_accounts,
    worst_account_errors,
    error_rate_excluding_worst_account,
    baseline_error_rate,
    baseline_latency_p95_ms,
    case
        when baseline_days >= {{ min_days }}
            and requests >= {{ min_requests }}
            and error_rate > {{ error_ratio }} * baseline_error_rate
            and error_rate > {{ error_floor }}
            and error_rate_excluding_worst_account > {{ error_ratio }} * baseline_error_rate
            and error_rate_excluding_worst_account > {{ error_floor }}
        then true else false
    end as is_error_rate_breach,
    case
        when baseline_days >= {{ min_days }}
            and requests >= {{ min_requests }}
            and latency_p95_ms > {{ latency_ratio }} * baseline_latency_p95_ms
        then true else false
    end as is_latency_breach
from {{ ref('int_api_metrics_daily_baselines') }}
where scope = 'endpoint'
