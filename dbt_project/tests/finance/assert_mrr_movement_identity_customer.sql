-- Every customer-month: start + new + expansion + reactivation - contraction - churned = end.
select customer_id, month_start, start_mrr, end_mrr, movement_type
from {{ ref('fct_customer_mrr_monthly') }}
where abs(start_mrr + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr - end_mrr) > 0.01
   or new_mrr < 0 or expansion_mrr < 0 or reactivation_mrr < 0 or contraction_mrr < 0 or churned_mrr < 0
