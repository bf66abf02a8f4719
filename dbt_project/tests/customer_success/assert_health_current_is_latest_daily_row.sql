-- Every current customer has exactly its as-of-date row in fct_customer_health_current, with
-- the same score as the daily mart.
with current_customers as (
    select customer_id, as_of_date from {{ ref('int_customer_success__customer_periods') }} where is_current
)

select current_customers.customer_id, 'missing from current' as problem
from current_customers
left join {{ ref('fct_customer_health_current') }} as health_current on health_current.customer_id = current_customers.customer_id
where health_current.customer_id is null
union all
select health_current.customer_id, 'score differs from the daily row'
from {{ ref('fct_customer_health_current') }} as health_current
left join {{ ref('fct_customer_health_daily') }} as daily
    on daily.customer_id = health_current.customer_id and daily.date_day = health_current.as_of_date
where daily.health_score is null or daily.health_score <> health_current.health_score
