-- Cloud cost against the requests each service served, per service per day (USD; the cost source
-- is billed in USD). Requests are the service's own hourly request counts summed over the UTC day.
with costs as (
    select
        cost_date as date_day,
        service,
        sum(cost_usd) as cost_usd,
        sum(case when category = 'compute' then cost_usd else 0 end) as compute_cost_usd,
        sum(case when category = 'storage' then cost_usd else 0 end) as storage_cost_usd,
        sum(case when category = 'network' then cost_usd else 0 end) as network_cost_usd,
        sum(case when category not in ('compute', 'storage', 'network') then cost_usd else 0 end) as other_cost_usd
    from {{ ref('stg_usage__cloud_costs') }}
    group by cost_date, service
),

served as (
    select metric_date as date_day, service, sum(requests) as requests_served
    from {{ ref('fct_service_utilisation_hourly') }}
    group by metric_date, service
)

select
    costs.service,
    costs.date_day,
    costs.cost_usd,
    costs.compute_cost_usd,
    costs.storage_cost_usd,
    costs.network_cost_usd,
    costs.other_cost_usd,
    coalesce(served.requests_served, 0) as requests_served,
    {{ safe_divide('costs.cost_usd', 'served.requests_served') }} as cost_per_request_usd,
    {{ safe_divide('costs.cost_usd * 1000.0', 'served.requests_served') }} as cost_per_1000_requests_usd
from costs
left join served on served.date_day = costs.date_day and served.service = costs.service
