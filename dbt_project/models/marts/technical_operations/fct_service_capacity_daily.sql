-- Capacity per service per day: peak-hour utilisation and the headroom left at the peak.
{% set alert = var('capacity_utilisation_alert', 0.8) %}
select
    service,
    metric_date as date_day,
    sum(requests) as requests,
    max(requests) as peak_hour_requests,
    max(capacity_requests) as capacity_requests_per_hour,
    max(instances) as max_instances,
    avg(utilisation) as avg_utilisation,
    max(utilisation) as peak_utilisation,
    1 - max(utilisation) as peak_headroom,
    avg(cpu_pct) as avg_cpu_pct,
    max(cpu_pct) as peak_cpu_pct,
    max(memory_pct) as peak_memory_pct,
    sum(case when utilisation >= {{ alert }} then 1 else 0 end) as hours_above_alert,
    count(*) as hours_reported,
    case
        when max(utilisation) >= 1 then 'over_capacity'
        when max(utilisation) >= {{ alert }} then 'tight'
        else 'ok'
    end as capacity_status
from {{ ref('fct_service_utilisation_hourly') }}
group by service, metric_date
