-- API traffic per day, per endpoint and for the whole platform (endpoint = 'all').
-- The usage source is daily per organisation and endpoint, so a day is the finest grain there is.
-- Latency: the organisations' histogram buckets summed into cumulative counts
-- (requests_within_<b>ms), percentiles interpolated from them (macro latency_quantile): exact up
-- to the bucket resolution, unlike any average of the rows' own percentiles.
-- worst_account_*: the organisation with the most errors that day, so incident detection can tell
-- a platform problem from one customer's failing integration.
with usage as (
    select * from {{ ref('stg_usage__api_requests') }}
),

by_endpoint as (
    select
        request_date,
        'endpoint' as scope,
        endpoint,
        sum(requests) as requests,
        sum(errors) as errors,
        {{ latency_requests_within() }},
        count(distinct case when requests > 0 then organization_id end) as active_accounts
    from usage
    group by request_date, endpoint
),

platform as (
    select
        request_date,
        'platform' as scope,
        'all' as endpoint,
        sum(requests) as requests,
        sum(errors) as errors,
        {{ latency_requests_within() }},
        count(distinct case when requests > 0 then organization_id end) as active_accounts
    from usage
    group by request_date
),

worst_by_endpoint as (
    select
        request_date,
        'endpoint' as scope,
        endpoint,
        errors as worst_account_errors,
        requests as worst_account_requests
    from usage
    where true  -- BigQuery wants a WHERE, GROUP BY or HAVING next to QUALIFY
    qualify row_number() over (partition by request_date, endpoint order by errors desc, requests, organization_id) = 1
),

account_days as (
    select request_date, organization_id, sum(requests) as requests, sum(errors) as errors
    from usage
    group by request_date, organization_id
),

worst_platform as (
    select
        request_date,
        'platform' as scope,
        'all' as endpoint,
        errors as worst_account_errors,
        requests as worst_account_requests
    from account_days
    where true
    qualify row_number() over (partition by request_date order by errors desc, requests, organization_id) = 1
),

unioned as (
    select * from by_endpoint
    union all
    select * from platform
),

worst as (
    select * from worst_by_endpoint
    union all
    select * from worst_platform
)

select
    unioned.request_date as date_day,
    unioned.scope,
    unioned.endpoint,
    unioned.requests,
    unioned.errors,
    {{ safe_divide('unioned.errors * 1.0', 'unioned.requests') }} as error_rate,
    {{ latency_quantile(0.5, 'unioned.requests', 'unioned.requests_within_') }} as latency_p50_ms,
    {{ latency_quantile(0.95, 'unioned.requests', 'unioned.requests_within_') }} as latency_p95_ms,
    {{ latency_quantile(0.99, 'unioned.requests', 'unioned.requests_within_') }} as latency_p99_ms,
    {%- for b in var('latency_buckets_ms') %}
    unioned.requests_within_{{ b }}ms,
    {%- endfor %}
    unioned.active_accounts,
    worst.worst_account_errors,
    worst.worst_account_requests,
    {{ safe_divide('(unioned.errors - worst.worst_account_errors) * 1.0', 'unioned.requests - worst.worst_account_requests') }} as error_rate_excluding_worst_account
from unioned
left join worst
    on worst.request_date = unioned.request_date
    and worst.scope = unioned.scope
    and worst.endpoint = unioned.endpoint
