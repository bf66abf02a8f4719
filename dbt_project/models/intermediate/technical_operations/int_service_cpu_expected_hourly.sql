-- Each service-hour with the CPU its load explains: a least-squares line of cpu_pct on
-- utilisation fitted over the service's previous `incident_baseline_days` x 24 hours (the hour
-- itself excluded). CPU far above that line is work the traffic does not account for (a stuck
-- query, a retry storm) and is an incident signal even below the saturation threshold; CPU that
-- is high because traffic is high stays on the line and is caught by saturation instead.
{% set window_hours = var('incident_baseline_days', 28) * 24 %}
with hourly as (
    select
        metric_hour,
        service,
        requests,
        capacity_requests,
        utilisation,
        cpu_pct
    from {{ ref('stg_usage__infra_metrics') }}
),

fitted as (
    select
        *,
        count(*) over fit_window as fit_hours,
        avg(cpu_pct) over fit_window as fit_mean_cpu,
        avg(utilisation) over fit_window as fit_mean_utilisation,
        covar_pop(cpu_pct, utilisation) over fit_window as fit_covariance,
        var_pop(utilisation) over fit_window as fit_variance
    from hourly
    window fit_window as (partition by service order by metric_hour rows between {{ window_hours }} preceding and 1 preceding)
)

select
    metric_hour,
    service,
    requests,
    capacity_requests,
    utilisation,
    cpu_pct,
    fit_hours,
    fit_mean_cpu + coalesce({{ safe_divide('fit_covariance', 'fit_variance') }}, 0) * (utilisation - fit_mean_utilisation) as expected_cpu_pct,
    cpu_pct - (fit_mean_cpu + coalesce({{ safe_divide('fit_covariance', 'fit_variance') }}, 0) * (utilisation - fit_mean_utilisation)) as unexplained_cpu_pct
from fitted
