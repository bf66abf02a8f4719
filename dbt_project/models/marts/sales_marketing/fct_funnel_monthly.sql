-- The lead funnel by lead-creation month and source (a cohort view: a month's leads are followed
-- to wherever they got, so recent months are still maturing).
with leads as (
    select * from {{ ref('fct_leads') }}
),

counts as (
    select
        created_month as month_start,
        lead_source,
        count(*) as leads,
        sum(case when reached_mql then 1 else 0 end) as mqls,
        sum(case when reached_sql then 1 else 0 end) as sqls,
        sum(case when reached_opportunity then 1 else 0 end) as opportunities,
        sum(case when is_converted then 1 else 0 end) as customers,
        sum(case when is_disqualified then 1 else 0 end) as disqualified,
        sum(case when funnel_stage = 'new' then 1 else 0 end) as still_new,
        avg(days_to_convert) as avg_days_to_convert
    from leads
    group by created_month, lead_source
)

select
    month_start,
    lead_source,
    leads,
    mqls,
    sqls,
    opportunities,
    customers,
    disqualified,
    still_new,
    {{ safe_divide('mqls * 1.0', 'leads') }} as lead_to_mql_rate,
    {{ safe_divide('sqls * 1.0', 'mqls') }} as mql_to_sql_rate,
    {{ safe_divide('opportunities * 1.0', 'sqls') }} as sql_to_opportunity_rate,
    {{ safe_divide('customers * 1.0', 'opportunities') }} as opportunity_to_customer_rate,
    {{ safe_divide('customers * 1.0', 'leads') }} as conversion_rate,
    avg_days_to_convert
from counts
