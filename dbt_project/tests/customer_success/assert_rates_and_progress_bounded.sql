-- Adoption rates, onboarding completion and time-to-value shares are proportions in range, and
-- adopters never outnumber the active population.
select 'feature_adoption' as source, cast(month_start as {{ type_string() }}) as row_key
from {{ ref('fct_feature_adoption_monthly') }}
where organization_adoption_rate < 0 or organization_adoption_rate > 1
   or user_adoption_rate < 0 or user_adoption_rate > 1
   or adopting_organizations > active_organizations
   or feature_users > active_users
union all
select 'onboarding', organization_id
from {{ ref('fct_onboarding_progress') }}
where completion_pct < 0 or completion_pct > 100
   or milestones_completed > milestones_total
   or time_to_value_days < 0
union all
select 'time_to_value', cast(signup_month as {{ type_string() }})
from {{ ref('fct_time_to_value_monthly') }}
where share_value_within_target < 0 or share_value_within_target > 1
   or reached_value > signups
   or median_time_to_value_days > p75_time_to_value_days
