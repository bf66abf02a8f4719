{{ config(materialized='table') }}
-- The last day each source has data for, and the last day every source has (data_through_date):
-- the one "last day of data" that metric answers cap their periods at (DECISIONLOG "Complete
-- periods"). Stripe's day is the MRR snapshot's as-of day (the latest invoice creation day, UTC),
-- so no period is called complete before MRR has it.
{%- set open_end = date_literal('9999-12-31') %}

with source_days as (
    select
        (select max({{ utc_date('created_at') }}) from {{ ref('stg_stripe__invoices') }}) as stripe_through_date,
        (select max(occurred_on) from {{ ref('stg_supabase__feature_events') }}) as supabase_through_date,
        (select max(request_date) from {{ ref('stg_usage__api_requests') }}) as usage_through_date
)

select
    stripe_through_date,
    supabase_through_date,
    usage_through_date,
    -- a source with no rows at all does not hold the others back
    nullif(least(
        coalesce(stripe_through_date, {{ open_end }}),
        coalesce(supabase_through_date, {{ open_end }}),
        coalesce(usage_through_date, {{ open_end }})
    ), {{ open_end }}) as data_through_date
from source_days
