{{ config(materialized='incremental', unique_key=['customer_id', 'date_day']) }}
{#- Customer health 0-100 per customer per day. Each factor compares the customer with what is
    expected of it: its own trailing baseline (usage, engagement, tickets), corrected by the same
    day's peers (plan tier and tenure band) so that seasonality and outages cancel, and scaled by
    its own noise; the distance (z) becomes a 0-100 factor score on a logistic curve that never
    saturates. The score is the weighted average of the four factor scores (var health_weights,
    calibrated by analytics/health/calibration.py), banded into a risk level, with the slope of
    the last 28 days as the trend. Window functions only. See DECISIONLOG "Customer health".

    Incremental runs rewrite the last `health_incremental_lookback_days` days. They read
    `history_days` of input before that: the longest factor window (120 days: ticket baseline)
    plus the 28 days of scores the trend needs, plus margin. -#}
{%- set weights = cs_setting('health_weights') -%}
{%- set trend_threshold = cs_setting('health_trend_threshold') -%}
{#- floor of the day-to-day spread of log requests: a customer whose baseline is unusually steady
    would otherwise turn a small dip into a large z -#}
{%- set min_log_sd = 0.1 -%}
{%- set history_days = 160 -%}
{%- set out_start = cs_incremental_start('date_day', cs_setting('health_incremental_lookback_days')) -%}
{%- set in_start = cs_shift_date(out_start, -history_days) if out_start else none -%}
{#- windows stay inside one customer period: a reactivated customer starts a fresh baseline
    instead of comparing itself with the months before it left -#}
{%- set w = 'partition by customer_id, period_number order by day_index' -%}

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
    select organization_id, active_from as date_day, 1 as d_active_users, 0 as d_open_urgent, 0 as d_open_high, 0 as d_past_due, 0 as d_milestones
    from user_active_intervals
    union all
    select organization_id, active_until, -1, 0, 0, 0, 0
    from user_active_intervals
    union all
    -- urgent / high tickets open at the end of the day (full history: they can stay open long)
    select organization_id, cast(created_at as date), 0,
        case when priority = 'urgent' then 1 else 0 end, case when priority = 'high' then 1 else 0 end, 0, 0
    from {{ ref('stg_supabase__support_tickets') }}
    where priority in ('urgent', 'high')
    union all
    select organization_id, cast(resolved_at as date), 0,
        case when priority = 'urgent' then -1 else 0 end, case when priority = 'high' then -1 else 0 end, 0, 0
    from {{ ref('stg_supabase__support_tickets') }}
    where priority in ('urgent', 'high') and resolved_at is not null
    union all
    -- past-due invoices: finalised, amount due, still unpaid after the day of finalisation
    select customers.organization_id, {{ add_days('cast(inv.finalized_at as date)', 1) }}, 0, 0, 0, 1, 0
    from {{ ref('stg_stripe__invoices') }} as inv
    inner join {{ ref('stg_stripe__customers') }} as customers on customers.customer_id = inv.customer_id
    where inv.finalized_at is not null and inv.amount_due > 0
      and (coalesce(inv.paid_at, inv.voided_at, inv.marked_uncollectible_at) is null
           or cast(coalesce(inv.paid_at, inv.voided_at, inv.marked_uncollectible_at) as date) > {{ add_days('cast(inv.finalized_at as date)', 1) }})
    union all
    select customers.organization_id, cast(coalesce(inv.paid_at, inv.voided_at, inv.marked_uncollectible_at) as date), 0, 0, 0, -1, 0
    from {{ ref('stg_stripe__invoices') }} as inv
    inner join {{ ref('stg_stripe__customers') }} as customers on customers.customer_id = inv.customer_id
    where inv.finalized_at is not null and inv.amount_due > 0
      and cast(coalesce(inv.paid_at, inv.voided_at, inv.marked_uncollectible_at) as date) > {{ add_days('cast(inv.finalized_at as date)', 1) }}
    union all
    -- onboarding milestones reached (adoption depth), as of each day
    select organization_id, cast(completed_at as date), 0, 0, 0, 0, 1
    from {{ ref('stg_supabase__onboarding_milestones') }}
    where completed_at is not null
),

step_values as (
    select
        organization_id,
        date_day,
        sum(sum(d_active_users)) over (partition by organization_id order by date_day rows unbounded preceding) as active_users_28d,
        sum(sum(d_open_urgent)) over (partition by organization_id order by date_day rows unbounded preceding) as open_urgent_tickets,
        sum(sum(d_open_high)) over (partition by organization_id order by date_day rows unbounded preceding) as open_high_tickets,
        sum(sum(d_past_due)) over (partition by organization_id order by date_day rows unbounded preceding) as past_due_invoices,
        sum(sum(d_milestones)) over (partition by organization_id order by date_day rows unbounded preceding) as milestones_reached
    from step_deltas
    group by organization_id, date_day
),

-- carry each step value onto the spine: the last change on or before the day
steps_on_spine as (
    select organization_id, date_day, active_users_28d, open_urgent_tickets, open_high_tickets, past_due_invoices, milestones_reached
    from (
        select
            organization_id,
            date_day,
            is_spine,
            last_value(active_users_28d ignore nulls) over (partition by organization_id order by date_day, is_spine rows unbounded preceding) as active_users_28d,
            last_value(open_urgent_tickets ignore nulls) over (partition by organization_id order by date_day, is_spine rows unbounded preceding) as open_urgent_tickets,
            last_value(open_high_tickets ignore nulls) over (partition by organization_id order by date_day, is_spine rows unbounded preceding) as open_high_tickets,
            last_value(past_due_invoices ignore nulls) over (partition by organization_id order by date_day, is_spine rows unbounded preceding) as past_due_invoices,
            last_value(milestones_reached ignore nulls) over (partition by organization_id order by date_day, is_spine rows unbounded preceding) as milestones_reached
        from (
            select organization_id, date_day, 1 as is_spine,
                cast(null as {{ type_int() }}) as active_users_28d, cast(null as {{ type_int() }}) as open_urgent_tickets,
                cast(null as {{ type_int() }}) as open_high_tickets, cast(null as {{ type_int() }}) as past_due_invoices,
                cast(null as {{ type_int() }}) as milestones_reached
            from customer_days
            union all
            select organization_id, date_day, 0,
                cast(active_users_28d as {{ type_int() }}), cast(open_urgent_tickets as {{ type_int() }}),
                cast(open_high_tickets as {{ type_int() }}), cast(past_due_invoices as {{ type_int() }}),
                cast(milestones_reached as {{ type_int() }})
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
        cd.period_number,
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
        coalesce(steps.milestones_reached, 0) as milestones_reached,
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
        -- usage: mean daily requests of the last 14 days against the customer's own 70 days
        -- before them (whole weeks on both sides), as a log ratio; the day-to-day spread of the
        -- baseline's log requests says how much of that ratio is noise for this customer
        sum(api_requests) over ({{ w }} range between 13 preceding and current row)
            / count(*) over ({{ w }} range between 13 preceding and current row) as requests_daily_14d,
        sum(api_requests) over ({{ w }} range between 13 preceding and current row) as requests_14d,
        sum(api_requests) over ({{ w }} range between 83 preceding and 14 preceding)
            / count(*) over ({{ w }} range between 83 preceding and 14 preceding) as requests_daily_baseline,
        count(*) over ({{ w }} range between 83 preceding and 14 preceding) as days_usage_baseline,
        stddev_samp(ln(api_requests + 1.0)) over ({{ w }} range between 83 preceding and 14 preceding) as log_requests_sd_baseline,
        -- engagement: feature events of the last 28 days against the customer's 84 days before
        sum(feature_events) over ({{ w }} range between 27 preceding and current row) as events_28d,
        count(*) over ({{ w }} range between 27 preceding and current row) as days_events_28d,
        sum(feature_events) over ({{ w }} range between 111 preceding and 28 preceding) as events_baseline,
        count(*) over ({{ w }} range between 111 preceding and 28 preceding) as days_events_baseline,
        -- support: tickets of the last 30 days against the customer's own 90 days before them
        coalesce(sum(tickets_opened) over ({{ w }} range between 29 preceding and current row), 0) as tickets_30d,
        count(*) over ({{ w }} range between 29 preceding and current row) as days_tickets_30d,
        coalesce(sum(tickets_opened) over ({{ w }} range between 119 preceding and 30 preceding), 0) as tickets_baseline,
        count(*) over ({{ w }} range between 119 preceding and 30 preceding) as days_tickets_baseline,
        coalesce(sum(low_csat_tickets) over ({{ w }} range between 59 preceding and current row), 0) as low_csat_tickets_60d,
        -- billing
        coalesce(sum(failed_charges) over ({{ w }} range between 29 preceding and current row), 0) as failed_charges_30d,
        coalesce(sum(failed_charges) over ({{ w }} range between 59 preceding and 30 preceding), 0) as failed_charges_31_60d,
        coalesce(sum(uncollectible_invoices) over ({{ w }} range between 59 preceding and current row), 0) as uncollectible_invoices_60d
    from daily
),

own_change as (
    select
        rolling.*,
        case when days_usage_baseline >= 28 then ln((requests_daily_14d + 1.0) / (requests_daily_baseline + 1.0)) end as usage_log_change,
        case when days_events_baseline >= 56
            then 1.0 * events_baseline / days_events_baseline * days_events_28d end as events_expected_28d,
        -- expected tickets: the customer's own rate, shrunk towards its segment's rate with the
        -- weight of 90 days (a customer opens a ticket every few months: its own rate alone is noise)
        1.0 * tickets_baseline as tickets_baseline_f
    from rolling
),

peer_groups as (
    -- the median change of the customers of the same plan tier and tenure band on the same day:
    -- seasonality, outages and surges move them all, ramping newcomers meet ramping newcomers;
    -- the whole tier when the band holds fewer than 5 customers
    select
        plan_tier,
        tenure_band,
        date_day,
        count(usage_log_change) as peers,
        {{ percentile('usage_log_change', 0.5) }} as median_usage_log_change,
        {{ percentile('milestones_reached', 0.5) }} as median_milestones_reached
    from own_change
    where plan_tier is not null
    group by plan_tier, tenure_band, date_day
),

tier_groups as (
    select plan_tier, date_day, {{ percentile('usage_log_change', 0.5) }} as median_usage_log_change,
        {{ percentile('milestones_reached', 0.5) }} as median_milestones_reached
    from own_change
    where plan_tier is not null
    group by plan_tier, date_day
),

segment_norms as (
    -- the segment's tickets per customer-day over the last 30 days, on the same day
    select segment, date_day, sum(tickets_30d) / sum(1.0 * days_tickets_30d) as segment_ticket_rate
    from own_change
    group by segment, date_day
),

standardised as (
    -- every input as z: how far the customer is from what is expected of it, in its own noise
    -- (positive = better than expected)
    select
        own_change.*,
        (usage_log_change - case when peer_groups.peers >= 5 then peer_groups.median_usage_log_change
                                 else tier_groups.median_usage_log_change end)
            -- the noise of a 14-day mean against a 70-day mean of daily log requests
            / (greatest(coalesce(log_requests_sd_baseline, 0), {{ min_log_sd }}) * {{ (1 / 14 + 1 / 70) ** 0.5 }}) as usage_z,
        (events_28d - events_expected_28d) / sqrt(events_expected_28d + 1.0) as engagement_z,
        -- onboarding milestones reached against the peers' median (a milestone ~ one unit of
        -- noise); no credit beyond the peers, since finishing onboarding is the norm
        least(0.0, milestones_reached - case when peer_groups.peers >= 5 then peer_groups.median_milestones_reached
                                             else tier_groups.median_milestones_reached end) as onboarding_z,
        (tickets_30d - expected_tickets_30d) / sqrt(expected_tickets_30d + 0.5)
            -- an outage sends everyone a ticket: what all the segment's customers share is not
            -- the customer's own pain
            - avg((tickets_30d - expected_tickets_30d) / sqrt(expected_tickets_30d + 0.5))
                over (partition by own_change.segment, own_change.date_day) as tickets_z
    from (
        select
            own_change.*,
            days_tickets_30d * (tickets_baseline_f + 90.0 * coalesce(segment_norms.segment_ticket_rate, 0))
                / (days_tickets_baseline + 90.0) as expected_tickets_30d
        from own_change
        left join segment_norms on segment_norms.segment = own_change.segment and segment_norms.date_day = own_change.date_day
    ) as own_change
    left join peer_groups
        on peer_groups.plan_tier = own_change.plan_tier and peer_groups.tenure_band = own_change.tenure_band and peer_groups.date_day = own_change.date_day
    left join tier_groups on tier_groups.plan_tier = own_change.plan_tier and tier_groups.date_day = own_change.date_day
),

factor_z as (
    select
        standardised.*,
        coalesce(usage_z, 0) as usage_raw_z,
        coalesce(engagement_z, 0) + coalesce(onboarding_z, 0) as engagement_raw_z,
        -- more tickets than expected, CSAT 1-2 ratings and open urgent / high tickets
        - coalesce(tickets_z, 0) - 1.0 * low_csat_tickets_60d - 0.5 * (open_urgent_tickets + open_high_tickets) as support_raw_z,
        -- a customer that pays sits a little above expectation; each payment problem pulls it down
        1.0 - 1.5 * failed_charges_30d - 0.75 * failed_charges_31_60d
            - case when past_due_invoices > 0 or is_delinquent_today then 2.0 else 0.0 end
            - 3.0 * uncollectible_invoices_60d as billing_raw_z
    from standardised
),

factor_scores as (
    select
        factor_z.*,
        {{ cs_logistic_score('usage_raw_z') }} as usage_raw,
        {{ cs_logistic_score('engagement_raw_z') }} as engagement_raw,
        {{ cs_logistic_score('support_raw_z') }} as support_raw,
        {{ cs_logistic_score('billing_raw_z') }} as billing_raw
    from factor_z
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
        period_number,
        {{ round_decimal('usage_raw', 1) }} as usage_score,
        {{ round_decimal('engagement_raw', 1) }} as engagement_score,
        {{ round_decimal('support_raw', 1) }} as support_score,
        {{ round_decimal('billing_raw', 1) }} as billing_score,
        {{ round_decimal(
            '(' ~ weights['usage'] ~ ' * usage_raw + ' ~ weights['engagement'] ~ ' * engagement_raw + '
            ~ weights['support'] ~ ' * support_raw + ' ~ weights['billing'] ~ ' * billing_raw) / '
            ~ (weights['usage'] + weights['engagement'] + weights['support'] + weights['billing']), 1) }} as health_score,
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
