{%- set target_days = cs_setting('time_to_value_target_days') -%}
-- Time to value per signup cohort (month of account creation).
with accounts as (
    select
        signup_month,
        account_created_at,
        time_to_value_days,
        reached_value_within_target,
        -- the target window has fully elapsed by the as-of date
        cast(account_created_at as date) <= {{ add_days(cs_as_of_date(), -target_days) }} as is_matured
    from {{ ref('fct_onboarding_progress') }}
)

select
    signup_month,
    count(*) as signups,
    sum(case when time_to_value_days is not null then 1 else 0 end) as reached_value,
    {{ round_decimal(percentile('time_to_value_days', 0.5), 2) }} as median_time_to_value_days,
    {{ round_decimal(percentile('time_to_value_days', 0.75), 2) }} as p75_time_to_value_days,
    {{ round_decimal('avg(time_to_value_days)', 2) }} as avg_time_to_value_days,
    sum(case when is_matured then 1 else 0 end) as signups_matured,
    sum(case when is_matured and reached_value_within_target then 1 else 0 end) as reached_value_within_target,
    {{ round_decimal(safe_divide('1.0 * sum(case when is_matured and reached_value_within_target then 1 else 0 end)',
                                 'sum(case when is_matured then 1 else 0 end)'), 4) }} as share_value_within_target
from accounts
group by signup_month
