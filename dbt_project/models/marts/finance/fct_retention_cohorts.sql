-- MRR and logo retention per cohort (first paying month) and months since start
-- (DECISIONLOG "NRR/GRR"). Cohort customers are followed to the last month of data.

with customer_months as (
    select * from {{ ref('fct_customer_mrr_monthly') }}
),

cohort_start as (
    select customer_id, end_mrr as customer_start_mrr
    from customer_months
    where month_start = cohort_month
),

per_customer as (
    select
        customer_months.cohort_month,
        customer_months.months_since_cohort as months_since_start,
        customer_months.month_start,
        customer_months.end_mrr,
        customer_months.is_paying_end,
        cohort_start.customer_start_mrr
    from customer_months
    inner join cohort_start on cohort_start.customer_id = customer_months.customer_id
),

cohorts as (
    select
        cohort_month,
        months_since_start,
        month_start,
        cast(count(*) as {{ type_int() }}) as customers_start,
        cast(sum(is_paying_end) as {{ type_int() }}) as customers_retained,
        sum(customer_start_mrr) as cohort_mrr_start,
        sum(end_mrr) as retained_mrr,
        sum(least(end_mrr, customer_start_mrr)) as retained_mrr_capped
    from per_customer
    group by cohort_month, months_since_start, month_start
)

select
    cohort_month,
    months_since_start,
    month_start,
    concat(cast(cohort_month as {{ type_string() }}), '|', cast(months_since_start as {{ type_string() }})) as cohort_key,
    customers_start,
    customers_retained,
    cohort_mrr_start,
    retained_mrr,
    retained_mrr_capped,
    cohort_mrr_start - retained_mrr_capped as lost_mrr,
    retained_mrr - retained_mrr_capped as expansion_above_start_mrr,
    {{ safe_divide('retained_mrr', 'cohort_mrr_start') }} as nrr,
    case when cohort_mrr_start > 0
         then case when retained_mrr_capped > cohort_mrr_start then 1.0 else retained_mrr_capped / cohort_mrr_start end
    end as grr,
    {{ safe_divide('customers_retained * 1.0', 'customers_start') }} as logo_retention
from cohorts
