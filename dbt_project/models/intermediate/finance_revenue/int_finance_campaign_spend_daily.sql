-- Campaign spend spread evenly over the campaign's days. A finished campaign spreads over
-- [start_date, end_date]; an active one's spend-to-date over [start_date, last update], so
-- spend is never booked on days that have not happened yet.
with campaigns as (
    select
        campaign_id,
        channel,
        status,
        start_date,
        -- (case rather than least/greatest: those treat nulls differently on DuckDB and BigQuery)
        case
            when status = 'active' and {{ utc_date('updated_at') }} < coalesce(end_date, {{ utc_date('updated_at') }})
                then case when {{ utc_date('updated_at') }} > start_date then {{ utc_date('updated_at') }} else start_date end
            when coalesce(end_date, {{ utc_date('updated_at') }}, start_date) > start_date
                then coalesce(end_date, {{ utc_date('updated_at') }}, start_date)
            else start_date
        end as spread_end_date,
        coalesce(spend, 0) as spend
    from {{ ref('stg_supabase__campaigns') }}
    where start_date is not null
),

spine as (
    {{ date_spine('(select min(start_date) from campaigns)', '(select max(spread_end_date) from campaigns)') }}
)

select
    campaigns.campaign_id,
    spine.date_day,
    {{ month_start('spine.date_day') }} as month_start,
    campaigns.channel,
    campaigns.status,
    campaigns.spend / ({{ days_between('campaigns.start_date', 'campaigns.spread_end_date') }} + 1) as spend_usd
from campaigns
inner join spine
    on spine.date_day >= campaigns.start_date and spine.date_day <= campaigns.spread_end_date
