{{ config(materialized='incremental', unique_key=['customer_id', 'date_day']) }}
{#- Customer health 0-100 per customer per day: four factor scores from trailing windows over the
    customer-day spine (window functions only), weighted into one score, banded into a risk level,
    with the slope of the last 28 days as the trend. See DECISIONLOG "Customer health".

    Incremental runs rewrite the last `health_incremental_lookback_days` days. They read
    `history_days` of input before that: the longest factor window (112 days: engagement baseline)
    plus the 28 days of scores the trend needs, plus margin. -#}
{%- set weights = cs_setting('health_weights') -%}
{%- set trend_threshold = cs_setting('health_trend_threshold') -%}
{%- set neutral = cs_setting('health_neutral_score') -%}
{%- set history_days = 150 -%}
{%- set out_start = cs_incremental_start('date_day', cs_setting('health_incremental_lookback_days')) -%}
{%- set in_start = cs_shift_date(out_start, -history_days) if out_start else none -%}
{%- set w = 'partition by customer_id order by day_index' -%}

with customer_days as (
    select *
    from {{ ref('int_customer_success__customer_days') }}
    {% if in_start %}where date_day >= {{ cs_date_literal(in_start) }}{% endif %}
),

usage as (
    select organization_id, date_day, api_requests
    from {{ ref('int_customer_success__usage_daily') }}
    {% if in_start %}where date_day >= {{ cs_date_literal(in_start) }}{% endif %}
),

features as (
    select organization_id, date_day, feature_events
    from {{ ref('int_customer_success__feature_usage_daily') }}
    {% if in_start %}where date_day >= {{ cs_date_literal(in_start) }}{% endif %}
),

tickets_opened as (
    select organization_id, cast(created_at as date) as date_day, count(*) as tickets_opened
    from {{ ref('stg_supabase__support_tickets') }}
    group by organization_id, cast(created_at as date)
),

low_csat as (
    -- a rating lands when the ticket is resolved
    select organization_id, cast(resolved_at as date) as date_day, count(*) as low_csat_tickets
    from {{ ref('stg_supabase__support_tickets') }}
    where csat_score <= 2 and resolved_at is not null
    group by organization_id, cast(resolved_at as date)
),

failed_charges as (
    select customer_id, cast(created_at as date) as date_day, count(*) as failed_charges
    from {{ ref('stg_stripe__charges') }}
    where status = 'failed'
    group by customer_id, cast(created_at as date)
),

uncollectible as (
    select customer_id, cast(marked_uncollectible_at as date) as date_day, count(*) as uncollectible_invoices
    from {{ ref('stg_stripe__invoices') }}
    where marked_uncollectible_at is not null
    group by customer_id, cast(marked_uncollectible_at as date)
),

-- 28-day active users as intervals: a user active on day e counts from e until the next active
-- day or e + 28, whichever comes first. Intervals are at most 28 days long and never overlap for
-- a user, so the count on day d is the number of intervals covering d, and an incremental run
-- rebuilds it from intervals starting at most 28 days before its window (BigQuery has no
-- COUNT(DISTINCT) over a moving frame). The filter sits before the LEAD, which only looks ahead.
user_days as (
    select distinct organization_id, user_id, occurred_on as active_day
    from {{ ref('stg_supabase__feature_events') }}
    where user_id is not null
    {% if in_start %}and occurred_on >= {{ cs_date_literal(cs_shift_date(in_start, -28)) }}{% endif %}
),

user_active_intervals as (
    select
        organization_id,
        active_day as active_from,
        case
            when next_active_day is not null and next_active_day < {{ add_days('active_day', 28) }} then next_active_day
            else {{ add_days('active_day', 28) }}
        end as active_until
    from (
        select *, lead(active_day) over (partition by organization_id, user_id order by active_day) as next_active_day
        from user_days
    ) as with_next
),

-- Step functions (value changes on a few days): +1/-1 at the ends of each interval.
step_deltas as (
    select organization_id, active_from as date_day, 1 as d_active_users, 0 as d_open_urgent, 0 as d_open_high, 0 as d_past_due
    from user_active_intervals
    union all
    select organization_id, active_until, -1, 0, 0, 0
    from user_active_intervals
    union all
    -- urgent / high tickets open at the end of the day (full history: they can stay open long)
    select organization_id, cast(created_at as date), 0,
        case when priority = 'urgent' then 1 else 0 end, case when priority = 'high' then 1 else 0 end, 0
    from {{ ref('stg_supabase__support_tickets') }}
    where priority in ('urgent', 'high')
    union all
    select organization_id, cast(resolved_at as date), 0,
        case when priority = 'urgent' then -1 else 0 end, case when priority = 'high' then -1 else 0 end, 0
    from {{ ref('stg_supabase__support_tickets') }}
    where priority in ('urgent', 'high') and resolved_at is not null
    union all
    -- past-due invoices: finalised, amount due, still unpaid after the day of finalisation
    select customers.organization_id, {{ add_days('cast(inv.finalized_at as date)', 1) }}, 0, 0, 0, 1
    from {{ ref('stg_stripe__invoices') }} as inv
    inner join {{ ref('stg_stripe__customers') }} as customers on customers.customer_id = inv.customer_id
    where inv.finalized_at is not null and inv.amount_due > 0
      and (coalesce(inv.paid_at, inv.voided_at, inv.marked_uncollectible_at) is null
           or cast(coalesce(inv.paid_at, inv.voided_at, inv.marked_uncollectible_at) as date) > {{ add_days('cast(inv.finalized_at as date)', 1) }})
    union all
    select customers.organization_id, cast(coalesce(inv.paid_at, inv.voided_at, inv.marked_uncollectible_at) as date), 0, 0, 0, -1
    from {{ ref('stg_stripe__invoices') }} as inv
    inner join {{ ref('stg_stripe__customers') }} as customers on customers.customer_id = inv.customer_id
    where inv.finalized_at is not null and inv.amount_due > 0
      and cast(coalesce(inv.paid_at, inv.voided_at, inv.marked_uncollectible_at) as date) > {{ add_days('cast(inv.finalized_at as date)', 1) }}
),

step_values as (
    select
        organization_id,
        date_day,
        sum(sum(d_active_users)) over (partition by organization_id order by date_day rows unbounded preceding) as active_users_28d,
        sum(sum(d_open_urgent)) over (partition by organization_id order by date_day rows unbounded preceding) as open_urgent_tickets,
        sum(sum(d_open_high)) over (partition by organization_id order by date_day rows unbounded preceding) as open_high_tickets,
        sum(sum(d_past_due)) over (partition by organization_id order by date_day rows unbounded preceding) as past_due_invoices
    from step_deltas
    group by organization_id, date_day
),

-- carry each step value onto the spine: the last change on or before the day
steps_on_spine as (
    select organization_id, date_day, active_users_28d, open_urgent_tickets, open_high_tickets, past_due_invoices
    from (
        select
            organization_id,
            date_day,
            is_spine,
            last_value(active_users_28d ignore nulls) over (partition by organization_id order by date_day, is_spine rows unbounded preceding) as active_users_28d,
            last_value(open_urgent_tickets ignore nulls) over (partition by organization_id order by date_day, is_spine rows unbounded preceding) as open_urgent_tickets,
            last_value(open_high_tickets ignore nulls) over (partition by organization_id order by date_day, is_spine rows unbounded preceding) as open_high_tickets,
            last_value(past_due_invoices ignore nulls) over (partition by organization_id order by date_day, is_spine rows unbounded preceding) as past_due_invoices
        from (
            select organization_id, date_day, 1 as is_spine,
                cast(null as {{ type_int() }}) as active_users_28d, cast(null as {{ type_int() }}) as open_urgent_tickets,
                cast(null as {{ type_int() }}) as open_high_tickets, cast(null as {{ type_int() }}) as past_due_invoices
            from customer_days
            union all
            select organization_id, date_day, 0,
                cast(active_users_28d as {{ type_int() }}), cast(open_urgent_tickets as {{ type_int() }}),
                cast(open_high_tickets as {{ type_int() }}), cast(past_due_invoices as {{ type_int() }})
            from step_values
        ) as unioned
    ) as carried
    where is_spine = 1
),

daily as (
    select
        cd.customer_id,
        cd.organization_id,
        cd.segment,
        cd.plan_tier,
        cd.seats,
        cd.date_day,
        cd.day_index,
        {{ cs_day_index('cd.period_start_date') }} as period_start_day_index,
        cd.is_delinquent_today,
        -- seats for per-seat ratios: the plan quantity, else at least one
        cast(greatest(coalesce(cd.seats, 1), 1) as {{ type_float() }}) as seats_for_ratio,
        -- peers ramp up too: compare new customers with customers at the same stage
        case
            when {{ days_between('cd.period_start_date', 'cd.date_day') }} < 28 then 'd000_027'
            when {{ days_between('cd.period_start_date', 'cd.date_day') }} < 56 then 'd028_055'
            when {{ days_between('cd.period_start_date', 'cd.date_day') }} < 90 then 'd056_089'
            else 'd090_plus'
        end as tenure_band,
        coalesce(usage.api_requests, 0) as api_requests,
        coalesce(features.feature_events, 0) as feature_events,
        coalesce(steps.active_users_28d, 0) as active_users_28d,
        coalesce(steps.open_urgent_tickets, 0) as open_urgent_tickets,
        coalesce(steps.open_high_tickets, 0) as open_high_tickets,
        coalesce(steps.past_due_invoices, 0) as past_due_invoices,
        coalesce(tickets_opened.tickets_opened, 0) as tickets_opened,
        coalesce(low_csat.low_csat_tickets, 0) as low_csat_tickets,
        coalesce(failed_charges.failed_charges, 0) as failed_charges,
        coalesce(uncollectible.uncollectible_invoices, 0) as uncollectible_invoices
    from customer_days as cd
    left join usage on usage.organization_id = cd.organization_id and usage.date_day = cd.date_day
    left join features on features.organization_id = cd.organization_id and features.date_day = cd.date_day
    left join steps_on_spine as steps on steps.organization_id = cd.organization_id and steps.date_day = cd.date_day
    left join tickets_opened on tickets_opened.organization_id = cd.organization_id and tickets_opened.date_day = cd.date_day
    left join low_csat on low_csat.organization_id = cd.organization_id and low_csat.date_day = cd.date_day
    left join failed_charges on failed_charges.customer_id = cd.customer_id and failed_charges.date_day = cd.date_day
    left join uncollectible on uncollectible.customer_id = cd.customer_id and uncollectible.date_day = cd.date_day
),

rolling as (
    select
        daily.*,
        -- usage: last 14 days against the 70 days before them (whole weeks on both sides)
        sum(api_requests) over ({{ w }} range between 13 preceding and current row) as requests_14d,
        count(*) over ({{ w }} range between 13 preceding and current row) as days_14d,
        sum(api_requests) over ({{ w }} range between 83 preceding and 14 preceding) as requests_baseline,
        count(*) over ({{ w }} range between 83 preceding and 14 preceding) as days_baseline,
        sum(api_requests / seats_for_ratio) over ({{ w }} range between 27 preceding and current row)
            / count(*) over ({{ w }} range between 27 preceding and current row) as requests_per_seat_day_28d,
        -- engagement: feature events per seat, last 28 days against the 84 days before them
        sum(feature_events / seats_for_ratio) over ({{ w }} range between 27 preceding and current row)
            / count(*) over ({{ w }} range between 27 preceding and current row) as events_per_seat_day_28d,
        sum(feature_events / seats_for_ratio) over ({{ w }} range between 111 preceding and 28 preceding) as events_per_seat_baseline_sum,
        count(*) over ({{ w }} range between 111 preceding and 28 preceding) as days_events_baseline,
        max(case when feature_events > 0 then day_index end) over ({{ w }} rows unbounded preceding) as last_feature_day_index,
        -- support
        coalesce(sum(tickets_opened) over ({{ w }} range between 29 preceding and current row), 0) as tickets_30d,
        coalesce(sum(low_csat_tickets) over ({{ w }} range between 59 preceding and current row), 0) as low_csat_tickets_60d,
        -- billing
        coalesce(sum(failed_charges) over ({{ w }} range between 29 preceding and current row), 0) as failed_charges_30d,
        coalesce(sum(failed_charges) over ({{ w }} range between 59 preceding and 30 preceding), 0) as failed_charges_31_60d,
        coalesce(sum(uncollectible_invoices) over ({{ w }} range between 59 preceding and current row), 0) as uncollectible_invoices_60d
    from daily
),

peer_groups as (
    -- the median customer of the same plan tier and tenure band on the same day (seasonality and
    -- outages cancel, ramping newcomers meet ramping newcomers); the whole tier when the band
    -- holds fewer than 5 customers
    select
        plan_tier,
        tenure_band,
        date_day,
        count(*) as peers,
        {{ percentile('requests_per_seat_day_28d', 0.5) }} as median_requests_per_seat,
        {{ percentile('active_users_28d / seats_for_ratio', 0.5) }} as median_active_share
    from rolling
    where plan_tier is not null
    group by plan_tier, tenure_band, date_day
),

tier_groups as (
    select
        plan_tier,
        date_day,
        {{ percentile('requests_per_seat_day_28d', 0.5) }} as median_requests_per_seat,
        {{ percentile('active_users_28d / seats_for_ratio', 0.5) }} as median_active_share
    from rolling
    where plan_tier is not null
    group by plan_tier, date_day
),

segment_norms as (
    -- the ticket norm: average tickets in 30 days of the segment's customers on the same day
    select segment, date_day, avg(1.0 * tickets_30d) as segment_avg_tickets_30d
    from rolling
    group by segment, date_day
),

peer_norms as (
    select
        peer_groups.plan_tier,
        peer_groups.tenure_band,
        peer_groups.date_day,
        case when peer_groups.peers >= 5 then peer_groups.median_requests_per_seat else tier_groups.median_requests_per_seat end as peer_requests_per_seat,
        case when peer_groups.peers >= 5 then peer_groups.median_active_share else tier_groups.median_active_share end as peer_active_share
    from peer_groups
    inner join tier_groups on tier_groups.plan_tier = peer_groups.plan_tier and tier_groups.date_day = peer_groups.date_day
),

components as (
    select
        rolling.*,
        peer_norms.peer_requests_per_seat,
        peer_norms.peer_active_share,
        segment_norms.segment_avg_tickets_30d,
        case
            when days_baseline < 28 then null
            when requests_baseline = 0 then case when requests_14d > 0 then 100.0 else 0.0 end
            else {{ cs_linear_score('(1.0 * requests_14d / days_14d) / (1.0 * requests_baseline / days_baseline)', 0.4, 0.9) }}
        end as usage_trend_component,
        case
            when peer_norms.peer_requests_per_seat > 0
                then {{ cs_linear_score('requests_per_seat_day_28d / peer_norms.peer_requests_per_seat', 0.2, 0.9) }}
        end as usage_intensity_component,
        case
            when days_events_baseline < 56 then null
            when events_per_seat_baseline_sum = 0 then case when events_per_seat_day_28d > 0 then 100.0 else 0.0 end
            else {{ cs_linear_score('events_per_seat_day_28d / (events_per_seat_baseline_sum / days_events_baseline)', 0.3, 0.9) }}
        end as engagement_trend_component,
        case
            -- users join over the first weeks: breadth counts from the third week
            when rolling.day_index - rolling.period_start_day_index < 14 then null
            when peer_norms.peer_active_share > 0
                then {{ cs_linear_score('(active_users_28d / seats_for_ratio) / peer_norms.peer_active_share', 0.2, 0.9) }}
            else {{ cs_linear_score('active_users_28d / seats_for_ratio', 0.2, 0.9) }}
        end as engagement_breadth_component,
        {{ cs_linear_score('day_index - greatest(coalesce(last_feature_day_index, period_start_day_index), period_start_day_index)', 35, 7) }} as engagement_recency_component
    from rolling
    left join peer_norms
        on peer_norms.plan_tier = rolling.plan_tier and peer_norms.tenure_band = rolling.tenure_band and peer_norms.date_day = rolling.date_day
    left join segment_norms on segment_norms.segment = rolling.segment and segment_norms.date_day = rolling.date_day
),

factor_scores as (
    select
        components.*,
        coalesce({{ cs_weighted_avg([('usage_trend_component', 0.65), ('usage_intensity_component', 0.35)]) }}, {{ neutral }}) as usage_raw,
        coalesce({{ cs_weighted_avg([('engagement_trend_component', 0.60), ('engagement_breadth_component', 0.25), ('engagement_recency_component', 0.15)]) }}, {{ neutral }}) as engagement_raw,
        100.0 - least(100.0,
            least(45.0, 15.0 * greatest(0.0, tickets_30d - segment_avg_tickets_30d))
            + least(40.0, 20.0 * low_csat_tickets_60d)
            + least(30.0, 15.0 * open_urgent_tickets + 8.0 * open_high_tickets)
        ) as support_raw,
        100.0 - least(100.0,
            least(60.0, 20.0 * failed_charges_30d + 10.0 * failed_charges_31_60d)
            + case when past_due_invoices > 0 or is_delinquent_today then 40.0 else 0.0 end
            + least(50.0, 50.0 * uncollectible_invoices_60d)
        ) as billing_raw
    from components
),

scored as (
    select
        customer_id,
        organization_id,
        segment,
        plan_tier,
        seats,
        date_day,
        day_index,
        {{ round_decimal(cs_clamp('usage_raw'), 1) }} as usage_score,
        {{ round_decimal(cs_clamp('engagement_raw'), 1) }} as engagement_score,
        {{ round_decimal(cs_clamp('support_raw'), 1) }} as support_score,
        {{ round_decimal(cs_clamp('billing_raw'), 1) }} as billing_score,
        {{ round_decimal(cs_clamp(
            '(' ~ weights['usage'] ~ ' * usage_raw + ' ~ weights['engagement'] ~ ' * engagement_raw + '
            ~ weights['support'] ~ ' * support_raw + ' ~ weights['billing'] ~ ' * billing_raw) / '
            ~ (weights['usage'] + weights['engagement'] + weights['support'] + weights['billing'])
        ), 1) }} as health_score,
        api_requests,
        requests_14d,
        feature_events,
        active_users_28d,
        tickets_30d,
        low_csat_tickets_60d,
        open_urgent_tickets + open_high_tickets as open_priority_tickets,
        failed_charges_30d,
        past_due_invoices
    from factor_scores
),

trended as (
    select
        scored.*,
        covar_pop(health_score, day_index) over ({{ w }} range between 27 preceding and current row)
            / nullif(var_pop(day_index) over ({{ w }} range between 27 preceding and current row), 0) * 28 as slope_28d,
        count(*) over ({{ w }} range between 27 preceding and current row) as days_in_trend_window,
        health_score - first_value(health_score) over ({{ w }} range between 28 preceding and 28 preceding) as score_change_28d
    from scored
)

select
    customer_id,
    organization_id,
    date_day,
    health_score,
    usage_score,
    engagement_score,
    support_score,
    billing_score,
    {{ cs_risk_level('health_score') }} as risk_level,
    case
        when days_in_trend_window < 14 or slope_28d is null then 'stable'
        when slope_28d >= {{ trend_threshold }} then 'improving'
        when slope_28d <= -{{ trend_threshold }} then 'declining'
        else 'stable'
    end as trend,
    {{ round_decimal('score_change_28d', 1) }} as score_change_28d,
    case when days_in_trend_window >= 14 then {{ round_decimal('slope_28d', 2) }} end as score_slope_28d,
    segment,
    plan_tier,
    seats,
    api_requests,
    requests_14d as api_requests_14d,
    feature_events,
    active_users_28d,
    tickets_30d,
    low_csat_tickets_60d,
    open_priority_tickets,
    failed_charges_30d,
    past_due_invoices
from trended
{% if out_start %}where date_day >= {{ cs_date_literal(out_start) }}{% endif %}
