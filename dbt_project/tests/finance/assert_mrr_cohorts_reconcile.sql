-- Cohorts reconcile with the customer months: in every calendar month, the cohorts' retained MRR
-- sums to the company's ending MRR, and grr <= 1, nrr >= grr.
with by_month as (
    select month_start, sum(retained_mrr) as retained_mrr
    from {{ ref('fct_retention_cohorts') }}
    group by month_start
)

select summary.month_start, summary.ending_mrr, by_month.retained_mrr
from {{ ref('fct_mrr_summary_monthly') }} as summary
left join by_month on by_month.month_start = summary.month_start
where abs(summary.ending_mrr - coalesce(by_month.retained_mrr, 0)) > 0.01

union all

select month_start, nrr, grr
from {{ ref('fct_retention_cohorts') }}
where grr > 1.000001 or nrr < grr - 0.000001
