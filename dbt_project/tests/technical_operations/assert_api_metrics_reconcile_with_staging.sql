{{ config(meta={'dagster': {'ref': {'name': 'fct_api_metrics_daily'}}}) }}
-- fct_api_metrics_daily and fct_api_metrics_account_daily hold every request and error of the
-- usage source (per day), and the platform rows of int_api_metrics_daily equal the endpoint sum.
with source as (
    select request_date as date_day, sum(requests) as requests, sum(errors) as errors
    from {{ ref('stg_usage__api_requests') }}
    group by request_date
),

by_endpoint as (
    select date_day, sum(requests) as requests, sum(errors) as errors
    from {{ ref('fct_api_metrics_daily') }}
    group by date_day
),

by_account as (
    select date_day, sum(requests) as requests, sum(errors) as errors
    from {{ ref('fct_api_metrics_account_daily') }}
    group by date_day
),

platform as (
    select date_day, requests, errors
    from {{ ref('int_api_metrics_daily') }}
    where scope = 'platform'
)

select source.date_day, source.requests, by_endpoint.requests as endpoint_requests,
       by_account.requests as account_requests, platform.requests as platform_requests
from source
left join by_endpoint on by_endpoint.date_day = source.date_day
left join by_account on by_account.date_day = source.date_day
left join platform on platform.date_day = source.date_day
where by_endpoint.requests is null or by_endpoint.requests != source.requests or by_endpoint.errors != source.errors
   or by_account.requests is null or by_account.requests != source.requests or by_account.errors != source.errors
   or platform.requests is null or platform.requests != source.requests or platform.errors != source.errors
