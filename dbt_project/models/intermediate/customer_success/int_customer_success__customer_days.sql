-- The customer-day spine: every day inside a customer period, with the seats and plan tier of
-- that day and an integer day number for RANGE window frames.
select
    periods.customer_id,
    periods.organization_id,
    coalesce(customers.segment, 'unknown') as segment,
    dates.date_day,
    {{ cs_day_index('dates.date_day') }} as day_index,
    periods.period_number,
    periods.period_start_date,
    seats.seats,
    seats.plan_tier,
    coalesce(customers_raw.is_delinquent, false) and dates.date_day = periods.as_of_date as is_delinquent_today,
    periods.as_of_date
from {{ ref('int_customer_success__customer_periods') }} as periods
inner join {{ ref('dim_dates') }} as dates
    on dates.date_day >= periods.period_start_date and dates.date_day <= periods.period_end_date
left join {{ ref('int_customer_success__seat_periods') }} as seats
    on seats.customer_id = periods.customer_id
   and dates.date_day >= seats.valid_from
   and (seats.valid_to is null or dates.date_day < seats.valid_to)
left join {{ ref('dim_customers') }} as customers on customers.customer_id = periods.customer_id
left join {{ ref('stg_stripe__customers') }} as customers_raw on customers_raw.customer_id = periods.customer_id
