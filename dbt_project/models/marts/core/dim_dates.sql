{{ config(materialized='table') }}
-- The calendar from the first billing record to the end of next year.
with bounds as (
    select cast(min(created_at) as date) as first_day from {{ ref('stg_stripe__invoices') }}
),
spine as (
    {{ date_spine("(select " ~ month_start('first_day') ~ " from bounds)", "(select " ~ add_months(month_start('current_date'), 24) ~ " from bounds)") }}
)

select
    date_day,
    {{ week_start('date_day') }} as week_start,
    {{ month_start('date_day') }} as month_start,
    extract(year from date_day) as year,
    extract(quarter from date_day) as quarter,
    extract(month from date_day) as month_of_year,
    {{ iso_day_of_week('date_day') }} as iso_day_of_week,
    {{ iso_day_of_week('date_day') }} in (6, 7) as is_weekend,
    date_day = {{ add_days(add_months(month_start('date_day'), 1), -1) }} as is_month_end
from spine
