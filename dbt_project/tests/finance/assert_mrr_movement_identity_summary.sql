-- Every month: starting + new + expansion + reactivation - contraction - churned = ending, and
-- each month's starting MRR is the previous month's ending MRR.
with summary as (
    select
        *,
        lag(ending_mrr) over (order by month_start) as previous_ending_mrr
    from {{ ref('fct_mrr_summary_monthly') }}
)

select month_start, starting_mrr, ending_mrr, previous_ending_mrr
from summary
where abs(starting_mrr + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr - ending_mrr) > 0.01
   or abs(starting_mrr - coalesce(previous_ending_mrr, 0)) > 0.01
   or abs(arr - 12 * ending_mrr) > 0.01
