-- Each endpoint-day (and platform-day) with its trailing baseline: the median error rate and
-- median p95 latency of the previous `incident_baseline_days` days (the day itself excluded).
-- A self-join plus the percentile macro rather than a windowed median: BigQuery has no
-- framed window percentile.
{% set baseline_days = var('incident_baseline_days', 28) %}
with daily as (
    select * from {{ ref('int_api_metrics_daily') }}
),

baselines as (
    select
        d.date_day,
        d.scope,
        d.endpoint,
        count(*) as baseline_days,
        {{ percentile('prior.error_rate', 0.5) }} as baseline_error_rate,
        {{ percentile('prior.latency_p95_ms', 0.5) }} as baseline_latency_p95_ms
    from daily as d
    inner join daily as prior
        on prior.scope = d.scope
        and prior.endpoint = d.endpoint
        and prior.date_day < d.date_day
        and prior.date_day >= {{ add_days('d.date_day', -baseline_days) }}
    group by d.date_day, d.scope, d.endpoint
)

select
    daily.*,
    coalesce(baselines.baseline_days, 0) as baseline_days,
    baselines.baseline_error_rate,
    baselines.baseline_latency_p95_ms
from daily
left join baselines
    on baselines.date_day = daily.date_day
    and baselines.scope = daily.scope
    and baselines.endpoint = daily.endpoint
