-- MRR movements per customer per month from month-end snapshots (DECISIONLOG "MRR movements").
-- Each customer gets every month from the first paying month to the last month of data, zero
-- months included. start_mrr = previous month's end_mrr. Classification, in this order:
--   new          start = 0, end > 0, never paid at an earlier month end
--   reactivation start = 0, end > 0, paid at an earlier month end (checked BEFORE expansion)
--   churn        start > 0, end = 0 (churn lands in the month whose end snapshot is 0)
--   inactive     start = 0, end = 0
--   expansion    end > start (both > 0);  contraction  end < start;  unchanged  otherwise
-- Identity per row: start + new + expansion + reactivation - contraction - churn = end.

{% set eps = '0.000001' %}

with snapshots as (
    select * from {{ ref('int_finance__mrr_customer_month_end') }}
),

months as (
    select distinct month_start
    from {{ ref('dim_dates') }}
    where month_start >= (select min(month_start) from snapshots)
      and month_start <= (select max(month_start) from snapshots)
),

customers as (
    select customer_id, min(month_start) as cohort_month
    from snapshots
    group by customer_id
),

grid as (
    select
        customers.customer_id,
        customers.cohort_month,
        months.month_start
    from customers
    inner join months on months.month_start >= customers.cohort_month
),

filled as (
    select
        grid.customer_id,
        grid.cohort_month,
        grid.month_start,
        coalesce(snapshots.mrr, 0) as end_mrr,
        coalesce(snapshots.mrr_local, 0) as end_mrr_local,
        coalesce(snapshots.seats, 0) as seats,
        coalesce(snapshots.subscription_count, 0) as subscription_count,
        snapshots.currency,
        snapshots.plan_tier
    from grid
    left join snapshots
        on snapshots.customer_id = grid.customer_id
       and snapshots.month_start = grid.month_start
),

with_start as (
    select
        *,
        coalesce(lag(end_mrr) over (partition by customer_id order by month_start), 0) as start_mrr,
        coalesce(lag(end_mrr_local) over (partition by customer_id order by month_start), 0) as start_mrr_local,
        coalesce(max(case when end_mrr > 0 then 1 else 0 end) over (
            partition by customer_id order by month_start
            rows between unbounded preceding and 1 preceding), 0) as has_paid_before,
        -- churned and inactive months keep the last known plan and currency
        last_value(plan_tier ignore nulls) over (
            partition by customer_id order by month_start
            rows between unbounded preceding and current row) as last_plan_tier,
        last_value(currency ignore nulls) over (
            partition by customer_id order by month_start
            rows between unbounded preceding and current row) as last_currency
    from filled
),

classified as (
    select
        *,
        case
            when start_mrr = 0 and end_mrr > 0 and has_paid_before = 0 then 'new'
            when start_mrr = 0 and end_mrr > 0 then 'reactivation'
            when start_mrr > 0 and end_mrr = 0 then 'churn'
            when start_mrr = 0 and end_mrr = 0 then 'inactive'
            when end_mrr - start_mrr > {{ eps }} then 'expansion'
            when start_mrr - end_mrr > {{ eps }} then 'contraction'
            else 'unchanged'
        end as movement_type
    from with_start
)

select
    customer_id,
    month_start,
    cohort_month,
    start_mrr,
    end_mrr,
    movement_type,
    case when movement_type = 'new' then end_mrr else 0 end as new_mrr,
    case when movement_type = 'expansion' then end_mrr - start_mrr else 0 end as expansion_mrr,
    case when movement_type = 'contraction' then start_mrr - end_mrr else 0 end as contraction_mrr,
    case when movement_type = 'churn' then start_mrr else 0 end as churned_mrr,
    case when movement_type = 'reactivation' then end_mrr else 0 end as reactivation_mrr,
    start_mrr_local,
    end_mrr_local,
    last_currency as currency,
    last_plan_tier as plan_tier,
    seats,
    subscription_count
from classified
