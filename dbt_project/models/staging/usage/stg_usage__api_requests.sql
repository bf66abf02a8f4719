select
    cast(date as date) as request_date,
    account_id as organization_id,
    endpoint,
    requests,
    errors,
    latency_p50_ms,
    latency_p95_ms,
    latency_p99_ms
from {{ source('usage', 'api_requests') }}
