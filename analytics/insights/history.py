"""Customer-level history for the backtests: who each customer rule would have flagged at past
month-ends and what happened next. One query per question over all the dates at once; every
window is bounded by literal dates, so nothing after a snapshot's date (inputs) or after its
horizon (outcomes) is read.

The upsell replay re-applies `marts.fct_upsell_signals`' flags (dbt vars `upsell_*`, defaults
below) to inputs as of each date, because that mart holds the current day only; a test pins the
replay to the mart on the mart's own date. A monthly history mart would remove this copy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from analytics.metrics import add_months
from analytics.settings import Settings
from analytics.warehouse import run_query

# fct_upsell_signals' thresholds (dbt_project.yml vars; kept equal by tests/analytics/test_insights.py)
UPSELL_USAGE_THRESHOLD = 0.8
UPSELL_SEAT_THRESHOLD = 0.9
UPSELL_GROWTH_THRESHOLD = 0.25


def _lit(d: dt.date) -> str:
    return f"date '{d.isoformat()}'"


def _snaps(dates: Sequence[dt.date], **offsets: int) -> str:
    rows = []
    for d in sorted(set(dates)):
        cols = [f"{_lit(d)} as as_of"] + [
            f"{_lit(d + dt.timedelta(days=n))} as {k}" for k, n in offsets.items()
        ]
        rows.append("select " + ", ".join(cols))
    return "\n    union all ".join(rows)


def upsell_signals(
    settings: Settings, dates: Sequence[dt.date], seat_signal: str = "seat_pressure"
) -> pl.DataFrame:
    """As of each date (a day with data): one row per customer paying that day, with
    fct_upsell_signals' inputs over the 30 days up to it and the 30 before, its flags and
    `high` (its priority 'high'). Columns: as_of, customer_id, mrr, the flags, signal_count, high.
    `seat_signal`: the seat flag that counts as a signal ("seats_full" replays the old rule)."""
    sql = f"""
with snaps as (
    {_snaps(dates, d30=-29, d60=-59)}
),
paying as (
    select s.as_of, s.d30, s.d60, m.customer_id, m.mrr, m.seats, m.plan_tier, c.organization_id
    from marts.fct_mrr_daily as m
    inner join snaps as s on m.date_day = s.as_of
    left join marts.dim_customers as c on c.customer_id = m.customer_id
    where m.mrr > 0
),
plans as (
    select tier as plan_tier, max(api_requests_included) as api_requests_included,
           max(seats_included_max) as seats_included_max
    from staging.stg_stripe__products where api_requests_included is not null group by tier
),
usage as (
    select p.as_of, p.customer_id,
        sum(case when u.date_day >= p.d30 then u.requests else 0 end) as requests_30d,
        sum(case when u.date_day < p.d30 then u.requests else 0 end) as requests_prev_30d
    from paying as p
    inner join marts.fct_api_metrics_account_daily as u
        on u.customer_id = p.customer_id and u.date_day >= p.d60 and u.date_day <= p.as_of
    group by p.as_of, p.customer_id
),
users as (
    select p.as_of, p.customer_id,
        count(distinct case when e.occurred_on >= p.d30 then e.user_id end) as active_users_30d,
        count(distinct case when e.occurred_on < p.d30 then e.user_id end) as active_users_prev_30d
    from paying as p
    inner join staging.stg_supabase__feature_events as e
        on e.organization_id = p.organization_id and e.occurred_on >= p.d60 and e.occurred_on <= p.as_of
        and e.user_id is not null
    group by p.as_of, p.customer_id
)
select p.as_of, p.customer_id, p.mrr, p.seats, p.plan_tier, pl.api_requests_included, pl.seats_included_max,
       coalesce(u.requests_30d, 0) as requests_30d, coalesce(u.requests_prev_30d, 0) as requests_prev_30d,
       coalesce(a.active_users_30d, 0) as active_users_30d, coalesce(a.active_users_prev_30d, 0) as active_users_prev_30d
from paying as p
left join plans as pl on pl.plan_tier = p.plan_tier
left join usage as u on u.as_of = p.as_of and u.customer_id = p.customer_id
left join users as a on a.as_of = p.as_of and a.customer_id = p.customer_id
"""
    f = run_query(settings, sql).with_columns(pl.col("as_of").cast(pl.Date))
    num = lambda c: pl.col(c).cast(pl.Float64)
    usage = num("requests_30d") / num("api_requests_included")
    util = num("active_users_30d") / num("seats")
    util_prev = num("active_users_prev_30d") / num("seats")
    growth = pl.when(num("requests_prev_30d") > 0).then(
        num("requests_30d") / num("requests_prev_30d") - 1
    )
    f = f.with_columns(
        usage.alias("usage_pct_of_included"),
        (usage >= UPSELL_USAGE_THRESHOLD).fill_null(False).alias("near_usage_limit"),
        (util >= UPSELL_SEAT_THRESHOLD).fill_null(False).alias("seats_full"),
        ((util >= UPSELL_SEAT_THRESHOLD) & (util_prev >= UPSELL_SEAT_THRESHOLD)
         & (pl.col("active_users_30d") > pl.col("active_users_prev_30d"))).fill_null(False).alias("seat_pressure"),
        (pl.col("seats") >= pl.col("seats_included_max")).fill_null(False).alias("at_plan_seat_max"),
        (growth >= UPSELL_GROWTH_THRESHOLD).fill_null(False).alias("growing_fast"),
    )  # fmt: skip
    flags = ("near_usage_limit", seat_signal, "at_plan_seat_max", "growing_fast")
    f = f.with_columns(
        pl.sum_horizontal(pl.col(c).cast(pl.Int32) for c in flags).alias("signal_count")
    )
    return f.with_columns(
        (
            (pl.col("usage_pct_of_included") >= 1).fill_null(False) | (pl.col("signal_count") >= 2)
        ).alias("high")
    )


def expansions(settings: Settings, dates: Sequence[dt.date], months: int = 3) -> pl.DataFrame:
    """as_of, customer_id, expansion_mrr: each customer's expansion MRR (fct_customer_mrr_monthly)
    in the `months` calendar months after each month-end `as_of`; customers without one are absent."""
    rows = "\n    union all ".join(
        f"select {_lit(d)} as as_of, {_lit(add_months(d, 1))} as first_month, {_lit(add_months(d, months))} as last_month"
        for d in sorted(set(dates))
    )
    sql = f"""
with snaps as (
    {rows}
)
select s.as_of, c.customer_id, sum(c.expansion_mrr) as expansion_mrr
from marts.fct_customer_mrr_monthly as c
inner join snaps as s on c.month_start >= s.first_month and c.month_start <= s.last_month
where c.expansion_mrr > 0
group by s.as_of, c.customer_id
"""
    return run_query(settings, sql).with_columns(
        pl.col("as_of").cast(pl.Date), pl.col("expansion_mrr").cast(pl.Float64)
    )


def health_risk(
    settings: Settings, dates: Sequence[dt.date], levels: Sequence[str]
) -> pl.DataFrame:
    """as_of, customer_id, at_risk: the health risk level of each scored customer on each date
    (fct_customer_health_daily), at_risk when it is one of `levels`."""
    lv = ", ".join(f"'{x}'" for x in levels)
    sql = f"""
with snaps as (
    {_snaps(dates)}
)
select s.as_of, h.customer_id, case when h.risk_level in ({lv}) then true else false end as at_risk
from marts.fct_customer_health_daily as h
inner join snaps as s on h.date_day = s.as_of
"""
    return run_query(settings, sql).with_columns(pl.col("as_of").cast(pl.Date))
