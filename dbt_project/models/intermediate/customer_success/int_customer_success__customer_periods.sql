-- Continuous spans during which a customer holds at least one subscription (trial, active,
-- past_due or an add-on): overlapping or touching subscriptions merge into one period, a gap
-- (churn, then reactivation) starts a new one. The day a subscription ends is its last customer
-- day; open subscriptions run to the as-of date, the last day with usage data.
with as_of as (
    select {{ cs_as_of_date() }} as as_of_date
),

subscriptions as (
    select
        subs.customer_id,
        cast(subs.started_at as date) as start_date,
        -- exclusive end: the day after the subscription ended (the day it ended still counts, as
        -- the account was live and used the product that day)
        least(coalesce({{ add_days('cast(subs.ended_at as date)', 1) }}, {{ add_days('as_of.as_of_date', 1) }}), {{ add_days('as_of.as_of_date', 1) }}) as end_date_exclusive,
        as_of.as_of_date
    from {{ ref('stg_stripe__subscriptions') }} as subs
    cross join as_of
    where subs.started_at is not null
),

ordered as (
    select
        *,
        max(end_date_exclusive) over (
            partition by customer_id order by start_date, end_date_exclusive
            rows between unbounded preceding and 1 preceding
        ) as previous_max_end
    from subscriptions
    where end_date_exclusive > start_date
),

numbered as (
    select
        *,
        sum(case when previous_max_end is null or start_date > previous_max_end then 1 else 0 end) over (
            partition by customer_id order by start_date, end_date_exclusive rows unbounded preceding
        ) as period_number
    from ordered
)

select
    numbered.customer_id,
    customers.organization_id,
    numbered.period_number,
    min(numbered.start_date) as period_start_date,
    {{ add_days('max(numbered.end_date_exclusive)', -1) }} as period_end_date,
    max(numbered.end_date_exclusive) > max(numbered.as_of_date) as is_current,
    max(numbered.as_of_date) as as_of_date
from numbered
inner join {{ ref('stg_stripe__customers') }} as customers on customers.customer_id = numbered.customer_id
group by numbered.customer_id, customers.organization_id, numbered.period_number
