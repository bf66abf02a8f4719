-- Feature adoption per feature per calendar month, among organisations and users active in the
-- app that month (any feature event). Features with no use in a month still get a row.
with events as (
    select organization_id, user_id, feature, {{ month_start('occurred_on') }} as month_start
    from {{ ref('stg_supabase__feature_events') }}
),

active as (
    select
        month_start,
        count(distinct organization_id) as active_organizations,
        count(distinct user_id) as active_users,
        count(*) as all_feature_events
    from events
    group by month_start
),

features as (
    select distinct feature from events
),

by_feature as (
    select
        month_start,
        feature,
        count(distinct organization_id) as adopting_organizations,
        count(distinct user_id) as feature_users,
        count(*) as feature_events
    from events
    group by month_start, feature
)

select
    active.month_start,
    features.feature,
    coalesce(by_feature.adopting_organizations, 0) as adopting_organizations,
    active.active_organizations,
    round({{ safe_divide('1.0 * coalesce(by_feature.adopting_organizations, 0)', 'active.active_organizations') }}, 4) as organization_adoption_rate,
    coalesce(by_feature.feature_users, 0) as feature_users,
    active.active_users,
    round({{ safe_divide('1.0 * coalesce(by_feature.feature_users, 0)', 'active.active_users') }}, 4) as user_adoption_rate,
    coalesce(by_feature.feature_events, 0) as feature_events,
    round({{ safe_divide('1.0 * coalesce(by_feature.feature_events, 0)', 'active.all_feature_events') }}, 4) as share_of_events
from active
cross join features
left join by_feature on by_feature.month_start = active.month_start and by_feature.feature = features.feature
