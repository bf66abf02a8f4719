-- Latency arrives twice: as the source's own p50/p95/p99 per row, and as histogram bucket counts
-- (latency_bucket_le_<ms>, +Inf last; var latency_buckets_ms). Percentiles of merged rows come from
-- the buckets only (macros/technical_operations.sql latency_quantile).
select
    cast(date as date) as request_date,
    account_id as organization_id,
    endpoint,
    requests,
    errors,
    latency_p50_ms,
    latency_p95_ms,
    latency_p99_ms,
    {{ latency_bucket_columns() }}
from {{ source('usage', 'api_requests') }}
