select
    hour as metric_hour,
    service,
    requests,
    capacity_requests,
    instances,
    cpu_pct,
    memory_pct,
    {{ safe_divide('requests', 'capacity_requests') }} as utilisation
from {{ source('usage', 'infra_metrics') }}
