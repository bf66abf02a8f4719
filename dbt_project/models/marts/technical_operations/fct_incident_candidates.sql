-- Incident candidates: threshold breaches (int_incident_breaches) merged into incidents. Breaches
-- whose windows overlap or are at most `incident_merge_gap_hours` apart form one incident, across
-- endpoints and services, so an outage seen as endpoint-days of errors and service-hours of CPU is
-- one incident. Customers affected: organisations with errors on the incident's days on its
-- endpoints (every endpoint when the breaches are infrastructure or platform wide). MRR affected:
-- their MRR (reporting currency) on the incident's first day.
{% set gap_hours = var('incident_merge_gap_hours', 1) %}
with breaches as (
    select * from {{ ref('int_incident_breaches') }}
),

ordered as (
    select
        *,
        max(window_end) over (order by window_start, window_end, breach_metric, scope, subject rows between unbounded preceding and 1 preceding) as previous_end
    from breaches
),

numbered as (
    select
        *,
        sum(case when previous_end is null or window_start > {{ techops_add_hours('previous_end', gap_hours) }} then 1 else 0 end)
            over (order by window_start, window_end, breach_metric, scope, subject rows between unbounded preceding and current row) as incident_seq
    from ordered
),

incidents as (
    select
        incident_seq,
        min(window_start) as started_at,
        max(window_end) as ended_at,
        min(case when breach_grain = 'hour' then window_start end) as hourly_started_at,
        max(case when breach_grain = 'hour' then window_end end) as hourly_ended_at,
        count(*) as breach_count,
        count(distinct concat(scope, ':', subject)) as subjects_affected,
        max(severity_rank) as max_breach_severity_rank,
        {{ techops_string_agg_distinct('breach_metric') }} as breach_metrics,
        {{ techops_string_agg_distinct("case when scope = 'endpoint' then subject end") }} as affected_endpoints,
        {{ techops_string_agg_distinct("case when scope = 'service' then subject end") }} as affected_services,
        max(case when scope = 'platform' then 1 else 0 end) as has_platform_breach,
        max(case when scope = 'endpoint' then 1 else 0 end) as has_endpoint_breach,
        max(case when breach_metric = 'error_rate' then observed_value end) as peak_error_rate,
        max(case when breach_metric = 'error_rate' then baseline_value end) as baseline_error_rate,
        max(case when breach_metric = 'latency_p95' then magnitude end) as peak_latency_p95_ratio,
        max(case when breach_metric in ('cpu_saturation', 'cpu_unexplained') then observed_value end) as peak_cpu_pct,
        max(case when breach_metric = 'cpu_unexplained' then magnitude end) as peak_unexplained_cpu_points
    from numbered
    group by incident_seq
),

incident_days as (
    select
        incident_seq,
        {{ techops_utc_date('started_at') }} as first_day,
        {{ techops_utc_date(techops_add_hours('ended_at', -1)) }} as last_day,
        has_endpoint_breach
    from incidents
),

incident_endpoints as (
    select distinct incident_seq, subject as endpoint
    from numbered
    where scope = 'endpoint'
),

affected_organizations as (
    select distinct
        d.incident_seq,
        d.first_day,
        u.organization_id
    from incident_days as d
    inner join {{ ref('stg_usage__api_requests') }} as u
        on u.request_date >= d.first_day
        and u.request_date <= d.last_day
        and u.errors > 0
    left join incident_endpoints as e
        on e.incident_seq = d.incident_seq
        and e.endpoint = u.endpoint
    where d.has_endpoint_breach = 0 or e.endpoint is not null
),

impact as (
    select
        a.incident_seq,
        count(distinct a.organization_id) as customers_affected,
        count(distinct mrr.customer_id) as paying_customers_affected,
        coalesce(sum(mrr.mrr), 0) as mrr_affected
    from affected_organizations as a
    left join {{ ref('dim_customers') }} as customers on customers.organization_id = a.organization_id
    left join {{ ref('fct_mrr_daily') }} as mrr
        on mrr.customer_id = customers.customer_id
        and mrr.date_day = a.first_day
    group by a.incident_seq
)

select
    concat('INC-', {{ techops_format_hour('i.started_at') }}) as incident_id,
    i.started_at,
    i.ended_at,
    {{ hours_between('i.started_at', 'i.ended_at') }} as duration_hours,
    i.hourly_started_at,
    i.hourly_ended_at,
    {{ techops_severity_label('least(4, i.max_breach_severity_rank + case when i.subjects_affected >= 3 then 1 else 0 end)') }} as severity,
    least(4, i.max_breach_severity_rank + case when i.subjects_affected >= 3 then 1 else 0 end) as severity_rank,
    i.breach_metrics,
    i.affected_endpoints,
    i.affected_services,
    case when i.has_platform_breach = 1 then true else false end as is_platform_wide,
    i.breach_count,
    i.subjects_affected,
    i.peak_error_rate,
    i.baseline_error_rate,
    i.peak_latency_p95_ratio,
    i.peak_cpu_pct,
    i.peak_unexplained_cpu_points,
    coalesce(impact.customers_affected, 0) as customers_affected,
    coalesce(impact.paying_customers_affected, 0) as paying_customers_affected,
    coalesce(impact.mrr_affected, 0) as mrr_affected
from incidents as i
left join impact on impact.incident_seq = i.incident_seq
