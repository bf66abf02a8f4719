{{ config(
    materialized='incremental',
    unique_key=['customer_id', 'date_day'],
    on_schema_change='sync_all_columns',
    pre_hook=[
        "{% if is_incremental() %}delete from {{ this }} where date_day >= (select " ~ add_days('max(date_day)', -40) ~ " from {{ this }}){% endif %}"
    ]
) }}
-- MRR per customer per day (DECISIONLOG "MRR"). Incremental: each run rebuilds the last 40 days
-- (monthly proration lines arrive on the next cycle's invoice, up to ~31 days after the change).
-- The pre-hook deletes those days first, so a customer whose MRR went to 0 in the window (e.g. a
-- late cancellation or proration line) loses the row instead of keeping a stale one. The cut-off
-- is read before the run and inlined as a literal, so the date filter reaches the date-spine join
-- of the intermediate views and only the window is recomputed.

{% set cutoff = none %}
{% if is_incremental() and execute %}
    {% set cutoff_sql %}select {{ add_days('max(date_day)', -40) }} from {{ this }}{% endset %}
    {% set cutoff = run_query(cutoff_sql).columns[0].values()[0] %}
{% endif %}

with daily as (
    select * from {{ ref('int_finance__mrr_customer_daily') }}
    {% if cutoff is not none %}
    where date_day >= cast('{{ cutoff }}' as date)
    {% endif %}
)

select
    daily.customer_id,
    daily.date_day,
    daily.month_start,
    concat(daily.customer_id, '|', cast(daily.month_start as {{ type_string() }})) as customer_month_key,
    daily.mrr,
    daily.mrr_local,
    daily.currency,
    daily.plan_tier,
    daily.seats,
    daily.subscription_count,
    coalesce(customers.segment, 'unknown') as segment
from daily
left join {{ ref('dim_customers') }} as customers on customers.customer_id = daily.customer_id
