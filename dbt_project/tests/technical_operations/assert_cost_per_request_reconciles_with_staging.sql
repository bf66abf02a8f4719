{{ config(meta={'dagster': {'ref': {'name': 'fct_cost_per_request_daily'}}}) }}
-- Every cloud-cost dollar and every service request lands in fct_cost_per_request_daily, and
-- cost per 1,000 requests is cost / requests x 1000.
with source_costs as (
    select sum(cost_usd) as cost_usd from {{ ref('stg_usage__cloud_costs') }}
),

source_requests as (
    select sum(requests) as requests from {{ ref('stg_usage__infra_metrics') }}
),

mart as (
    select sum(cost_usd) as cost_usd, sum(requests_served) as requests from {{ ref('fct_cost_per_request_daily') }}
),

bad_rows as (
    select count(*) as n
    from {{ ref('fct_cost_per_request_daily') }}
    where requests_served > 0
      and abs(cost_per_1000_requests_usd - cost_usd * 1000.0 / requests_served) > 1e-9
)

select source_costs.cost_usd, mart.cost_usd as mart_cost_usd, source_requests.requests, mart.requests as mart_requests, bad_rows.n
from source_costs cross join source_requests cross join mart cross join bad_rows
where abs(source_costs.cost_usd - mart.cost_usd) > 0.01
   or source_requests.requests != mart.requests
   or bad_rows.n > 0
