{{ config(meta={'dagster': {'ref': {'name': 'fct_service_utilisation_hourly'}}}) }}
-- Utilisation is requests / capacity for every service-hour, and the daily peak matches the hours.
with hourly as (
    select service, metric_date, max(utilisation) as peak_utilisation
    from {{ ref('fct_service_utilisation_hourly') }}
    group by service, metric_date
),

bad_hours as (
    select service, metric_hour as checked_at, utilisation as value
    from {{ ref('fct_service_utilisation_hourly') }}
    where capacity_requests > 0 and abs(utilisation - requests * 1.0 / capacity_requests) > 1e-9
),

bad_days as (
    select daily.service, {{ techops_day_start('daily.date_day') }} as checked_at, daily.peak_utilisation as value
    from {{ ref('fct_service_capacity_daily') }} as daily
    inner join hourly on hourly.service = daily.service and hourly.metric_date = daily.date_day
    where abs(daily.peak_utilisation - hourly.peak_utilisation) > 1e-9
)

select * from bad_hours
union all
select * from bad_days
