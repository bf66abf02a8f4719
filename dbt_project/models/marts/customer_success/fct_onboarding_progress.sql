{%- set milestones = cs_setting('onboarding_milestones') -%}
{%- set value_milestone = cs_setting('time_to_value_milestone') -%}
{%- set target_days = cs_setting('time_to_value_target_days') -%}
-- Onboarding per organisation: which of the catalogue's milestones it completed and how fast it
-- reached the first value event.
with completions as (
    select organization_id, milestone, min(completed_at) as completed_at
    from {{ ref('stg_supabase__onboarding_milestones') }}
    where milestone in ({% for m in milestones %}'{{ m }}'{{ ', ' if not loop.last }}{% endfor %})
    group by organization_id, milestone
),

last_milestone as (
    select organization_id, milestone as last_milestone, completed_at as last_milestone_at
    from completions
    where true  -- BigQuery wants a WHERE, GROUP BY or HAVING beside QUALIFY
    qualify row_number() over (
        partition by organization_id
        order by completed_at desc,
            case milestone {% for m in milestones %}when '{{ m }}' then {{ loop.index }} {% endfor %}end desc
    ) = 1
),

progress as (
    select
        organization_id,
        count(*) as milestones_completed,
        min(case when milestone = '{{ value_milestone }}' then completed_at end) as first_value_at
    from completions
    group by organization_id
)

select
    orgs.organization_id,
    orgs.customer_id,
    orgs.created_at as account_created_at,
    {{ month_start('orgs.created_at') }} as signup_month,
    coalesce(progress.milestones_completed, 0) as milestones_completed,
    {{ milestones | length }} as milestones_total,
    {{ round_decimal('100.0 * coalesce(progress.milestones_completed, 0) / ' ~ (milestones | length), 1) }} as completion_pct,
    coalesce(progress.milestones_completed, 0) = {{ milestones | length }} as is_onboarding_complete,
    last_milestone.last_milestone,
    last_milestone.last_milestone_at,
    progress.first_value_at,
    -- fractional days from account creation to the first value event
    {{ round_decimal(hours_between('orgs.created_at', 'progress.first_value_at') ~ ' / 24.0', 2) }} as time_to_value_days,
    case
        when progress.first_value_at is not null
             and {{ hours_between('orgs.created_at', 'progress.first_value_at') }} <= {{ target_days }} * 24 then true
        else false
    end as reached_value_within_target
from {{ ref('stg_supabase__organizations') }} as orgs
left join progress on progress.organization_id = orgs.organization_id
left join last_milestone on last_milestone.organization_id = orgs.organization_id
