-- Company MRR bridge per month (DECISIONLOG "MRR movements", "ARPA", "Churn rates", "NRR/GRR").

with customer_months as (
    select * from {{ ref('fct_customer_mrr_monthly') }}
),

bridge as (
    select
        month_start,
        sum(start_mrr) as starting_mrr,
        sum(new_mrr) as new_mrr,
        sum(expansion_mrr) as expansion_mrr,
        sum(contraction_mrr) as contraction_mrr,
        sum(churned_mrr) as churned_mrr,
        sum(reactivation_mrr) as reactivation_mrr,
        sum(end_mrr) as ending_mrr,
        cast(sum(is_paying_start) as {{ type_int() }}) as paying_customers_start,
        cast(sum(is_paying_end) as {{ type_int() }}) as paying_customers_end,
        cast(sum(case when movement_type = 'new' then 1 else 0 end) as {{ type_int() }}) as new_customers,
        cast(sum(case when movement_type = 'churn' then 1 else 0 end) as {{ type_int() }}) as churned_customers,
        cast(sum(case when movement_type = 'reactivation' then 1 else 0 end) as {{ type_int() }}) as reactivated_customers,
        cast(sum(case when movement_type = 'expansion' then 1 else 0 end) as {{ type_int() }}) as expansion_customers,
        cast(sum(case when movement_type = 'contraction' then 1 else 0 end) as {{ type_int() }}) as contraction_customers
    from customer_months
    group by month_start
),

-- trailing twelve months: customers paying at the end of the month 12 months earlier
trailing_12m as (
    select
        current_month.month_start,
        sum(base_month.end_mrr) as base_mrr_12m,
        sum(current_month.end_mrr) as retained_mrr_12m,
        sum(least(current_month.end_mrr, base_month.end_mrr)) as retained_mrr_capped_12m
    from customer_months as current_month
    inner join customer_months as base_month
        on base_month.customer_id = current_month.customer_id
       and base_month.month_start = {{ add_months('current_month.month_start', -12) }}
    where base_month.end_mrr > 0
    group by current_month.month_start
)

select
    bridge.month_start,
    bridge.starting_mrr,
    bridge.new_mrr,
    bridge.expansion_mrr,
    bridge.contraction_mrr,
    bridge.churned_mrr,
    bridge.reactivation_mrr,
    bridge.ending_mrr,
    bridge.ending_mrr - bridge.starting_mrr as net_new_mrr,
    12 * bridge.ending_mrr as arr,
    bridge.paying_customers_start,
    bridge.paying_customers_end,
    bridge.new_customers,
    bridge.churned_customers,
    bridge.reactivated_customers,
    bridge.expansion_customers,
    bridge.contraction_customers,
    {{ safe_divide('bridge.ending_mrr', 'bridge.paying_customers_end') }} as arpa,
    {{ safe_divide('bridge.churned_customers * 1.0', 'bridge.paying_customers_start') }} as logo_churn_rate,
    {{ safe_divide('bridge.churned_mrr + bridge.contraction_mrr', 'bridge.starting_mrr') }} as gross_mrr_churn_rate,
    {{ safe_divide('bridge.churned_mrr + bridge.contraction_mrr - bridge.expansion_mrr - bridge.reactivation_mrr', 'bridge.starting_mrr') }} as net_mrr_churn_rate,
    trailing_12m.base_mrr_12m,
    trailing_12m.retained_mrr_12m,
    trailing_12m.retained_mrr_capped_12m,
    {{ safe_divide('trailing_12m.retained_mrr_12m', 'trailing_12m.base_mrr_12m') }} as nrr_12m,
    -- capped at 1 (each customer is capped already; this only guards rounding). No least(): it
    -- ignores nulls on DuckDB but returns null on BigQuery.
    case when trailing_12m.base_mrr_12m > 0
         then case when trailing_12m.retained_mrr_capped_12m > trailing_12m.base_mrr_12m then 1.0
                   else trailing_12m.retained_mrr_capped_12m / trailing_12m.base_mrr_12m end
    end as grr_12m
from bridge
left join trailing_12m on trailing_12m.month_start = bridge.month_start
