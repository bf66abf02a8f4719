{{ config(meta={'dagster': {'ref': {'name': 'fct_incident_candidates'}}}) }}
-- Incident candidates are merged windows: each ends after it starts, the hourly window lies
-- inside it, and no two incidents overlap (they would have been merged).
with incidents as (
    select
        incident_id,
        started_at,
        ended_at,
        hourly_started_at,
        hourly_ended_at,
        lead(started_at) over (order by started_at) as next_started_at
    from {{ ref('fct_incident_candidates') }}
)

select *
from incidents
where ended_at <= started_at
   or next_started_at < ended_at
   or (hourly_started_at is not null and (hourly_started_at < started_at or hourly_ended_at > ended_at))
