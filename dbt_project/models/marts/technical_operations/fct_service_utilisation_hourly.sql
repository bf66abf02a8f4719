{{ config(materialized='incremental', unique_key=['service', 'metric_hour']) }}
-- Service load against capacity per hour. Incremental: each run reprocesses the last
-- `incremental_lookback_days` days so late metrics land.
with infra as (
    select * from {{ ref('stg_usage__infra_metrics') }}
    {% if is_incremental() %}
    where metric_hour >= (select {{ techops_add_hours('max(metric_hour)', -24 * var('incremental_lookback_days', 7)) }} from {{ this }})
    {% endif %}
)

select
    service,
    metric_hour,
    {{ techops_utc_date('metric_hour') }} as metric_date,
    requests,
    capacity_requests,
    utilisation,
    capacity_requests - requests as headroom_requests,
    cpu_pct,
    memory_pct,
    instances,
    case when utilisation >= {{ var('capacity_utilisation_alert', 0.8) }} then true else false end as is_above_utilisation_alert
from infra
