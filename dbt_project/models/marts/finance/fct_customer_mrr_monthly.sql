-- MRR movements per customer per month (DECISIONLOG "MRR movements", "Churn timing",
-- "Reactivation"); classification in int_finance__mrr_movements.

select
    movements.customer_id,
    movements.month_start,
    concat(movements.customer_id, '|', cast(movements.month_start as {{ type_string() }})) as customer_month_key,
    movements.start_mrr,
    movements.end_mrr,
    movements.movement_type,
    movements.new_mrr,
    movements.expansion_mrr,
    movements.contraction_mrr,
    movements.churned_mrr,
    movements.reactivation_mrr,
    movements.end_mrr - movements.start_mrr as net_change_mrr,
    case when movements.start_mrr > 0 then 1 else 0 end as is_paying_start,
    case when movements.end_mrr > 0 then 1 else 0 end as is_paying_end,
    movements.cohort_month,
    (extract(year from movements.month_start) - extract(year from movements.cohort_month)) * 12
        + extract(month from movements.month_start) - extract(month from movements.cohort_month) as months_since_cohort,
    coalesce(customers.segment, 'unknown') as segment,
    movements.plan_tier,
    movements.currency,
    movements.start_mrr_local,
    movements.end_mrr_local,
    movements.seats,
    movements.subscription_count
from {{ ref('int_finance__mrr_movements') }} as movements
left join {{ ref('dim_customers') }} as customers on customers.customer_id = movements.customer_id
