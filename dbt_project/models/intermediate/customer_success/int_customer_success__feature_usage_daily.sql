-- In-app feature use per organisation per day.
select
    organization_id,
    occurred_on as date_day,
    count(*) as feature_events,
    count(distinct user_id) as active_users,
    count(distinct feature) as distinct_features
from {{ ref('stg_supabase__feature_events') }}
group by organization_id, occurred_on
