"""Customer features and churn labels as of a date, read from the warehouse marts.

`as_of` is a cutoff: features use only data dated before it (the last observed day is
`as_of - 1`), the population is the customers paying (MRR > 0 in `fct_mrr_daily`) on `as_of - 1`,
and the label looks at the `horizon_days` days from `as_of` on. Window bounds are computed here
and pasted into the SQL as date literals, so the SQL is the same on DuckDB and BigQuery.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import polars as pl

from analytics.settings import Settings
from analytics.warehouse import run_query

log = logging.getLogger(__name__)

NUMERIC_FEATURES: tuple[str, ...] = (
    "mrr", "seats", "tenure_months", "mrr_change_90d", "cancellation_pending",
    "requests_daily_30d", "usage_trend", "api_error_rate_30d",
    "feature_events_per_seat_30d", "active_users_30d", "active_users_per_seat", "engagement_trend",
    "tickets_90d", "high_priority_tickets_90d", "avg_csat_90d", "low_csat_tickets_90d",
    "failed_payments_60d", "last_nps", "days_since_nps",
    "usage_trend_14d", "engagement_trend_14d", "is_annual", "days_to_renewal",
)  # fmt: skip
HEALTH_FEATURES: tuple[str, ...] = (
    "health_score", "usage_score", "engagement_score", "support_score", "billing_score", "health_change_28d",
)  # fmt: skip
CATEGORICAL_FEATURES: tuple[str, ...] = ("plan_tier", "segment")


class NoCustomersError(ValueError):
    """No customer was paying at the requested date (before the data starts, or after it ends)."""


def _lit(d: dt.date) -> str:
    return f"date '{d.isoformat()}'"


def _snapshots_cte(dates: Sequence[dt.date]) -> str:
    rows = []
    for d in sorted(set(dates)):
        b = {k: _lit(d - dt.timedelta(days=n)) for k, n in
             {"last_day": 1, "d14": 14, "d30": 30, "d60": 60, "d90": 90, "d91": 91}.items()}  # fmt: skip
        rows.append(f"select {_lit(d)} as as_of, {b['last_day']} as last_day, {b['d30']} as d30, "
                    f"{b['d14']} as d14, {b['d60']} as d60, {b['d90']} as d90, {b['d91']} as d91")  # fmt: skip
    return "\n    union all ".join(rows)


def _features_sql(dates: Sequence[dt.date]) -> str:
    # windows: last 30 days = [as_of-30, as_of), prior 60 days = [as_of-90, as_of-30)
    return f"""
with snaps as (
    {_snapshots_cte(dates)}
),
paying as (
    select s.as_of, m.customer_id, m.mrr, m.seats, m.plan_tier, m.segment
    from marts.fct_mrr_daily as m
    inner join snaps as s on m.date_day = s.last_day
    where m.mrr > 0
),
base as (
    select p.*, c.organization_id
    from paying as p
    left join marts.dim_customers as c on c.customer_id = p.customer_id
),
first_paid as (
    select customer_id, min(date_day) as first_paid_day from marts.fct_mrr_daily where mrr > 0 group by customer_id
),
mrr_before as (
    select s.as_of, m.customer_id, m.mrr as mrr_90d_ago
    from marts.fct_mrr_daily as m
    inner join snaps as s on m.date_day = s.d91
),
usage as (
    select b.as_of, b.customer_id,
        sum(case when u.date_day >= s.d30 then u.requests else 0 end) as requests_30d,
        sum(case when u.date_day < s.d30 then u.requests else 0 end) as requests_prior_60d,
        sum(case when u.date_day >= s.d30 then u.errors else 0 end) as errors_30d,
        sum(case when u.date_day >= s.d14 then u.requests else 0 end) as requests_14d
    from base as b
    inner join snaps as s on s.as_of = b.as_of
    inner join marts.fct_api_metrics_account_daily as u
        on u.customer_id = b.customer_id and u.date_day >= s.d90 and u.date_day < s.as_of
    group by b.as_of, b.customer_id
),
events as (
    select b.as_of, b.customer_id,
        count(case when e.occurred_on >= s.d30 then 1 end) as feature_events_30d,
        count(case when e.occurred_on < s.d30 then 1 end) as feature_events_prior_60d,
        count(case when e.occurred_on >= s.d14 then 1 end) as feature_events_14d,
        count(distinct case when e.occurred_on >= s.d30 then e.user_id end) as active_users_30d
    from base as b
    inner join snaps as s on s.as_of = b.as_of
    inner join staging.stg_supabase__feature_events as e
        on e.organization_id = b.organization_id and e.occurred_on >= s.d90 and e.occurred_on < s.as_of
    group by b.as_of, b.customer_id
),
tickets as (
    select b.as_of, b.customer_id,
        count(*) as tickets_90d,
        count(case when t.priority in ('high', 'urgent') then 1 end) as high_priority_tickets_90d,
        avg(case when t.resolved_at is not null and cast(t.resolved_at as date) < s.as_of
                 then t.csat_score end) as avg_csat_90d,
        count(case when t.csat_score <= 2 and cast(t.resolved_at as date) < s.as_of then 1 end) as low_csat_tickets_90d
    from base as b
    inner join snaps as s on s.as_of = b.as_of
    inner join staging.stg_supabase__support_tickets as t
        on t.organization_id = b.organization_id
        and cast(t.created_at as date) >= s.d90 and cast(t.created_at as date) < s.as_of
    group by b.as_of, b.customer_id
),
failed as (
    select b.as_of, b.customer_id, count(*) as failed_payments_60d
    from base as b
    inner join snaps as s on s.as_of = b.as_of
    inner join marts.fct_payments as p
        on p.customer_id = b.customer_id and p.is_failed and p.payment_date >= s.d60 and p.payment_date < s.as_of
    group by b.as_of, b.customer_id
),
nps_ranked as (
    select b.as_of, b.customer_id, n.score, n.responded_on,
        row_number() over (partition by b.as_of, b.customer_id order by n.responded_on desc, n.nps_response_id desc) as rn
    from base as b
    inner join staging.stg_supabase__nps_responses as n
        on n.organization_id = b.organization_id and n.responded_on < b.as_of
),
pending as (
    select b.as_of, b.customer_id, count(*) as pending_cancellations
    from base as b
    inner join staging.stg_stripe__subscriptions as sub
        on sub.customer_id = b.customer_id
        and cast(sub.canceled_at as date) < b.as_of
        and (sub.ended_at is null or cast(sub.ended_at as date) >= b.as_of)
    group by b.as_of, b.customer_id
)
select
    b.customer_id, b.as_of,
    b.mrr, cast(b.seats as double) as seats, b.plan_tier, coalesce(b.segment, 'unknown') as segment,
    cast(date_diff('day', f.first_paid_day, b.as_of) as double) / 30.44 as tenure_months,
    case when mb.mrr_90d_ago > 0 then b.mrr / mb.mrr_90d_ago - 1 end as mrr_change_90d,
    case when coalesce(pe.pending_cancellations, 0) > 0 then 1.0 else 0.0 end as cancellation_pending,
    coalesce(u.requests_30d, 0) / 30.0 as requests_daily_30d,
    ln((coalesce(u.requests_30d, 0) / 30.0 + 1) / (coalesce(u.requests_prior_60d, 0) / 60.0 + 1)) as usage_trend,
    ln((coalesce(u.requests_14d, 0) / 14.0 + 1)
       / ((coalesce(u.requests_30d, 0) + coalesce(u.requests_prior_60d, 0) - coalesce(u.requests_14d, 0)) / 76.0 + 1)) as usage_trend_14d,
    ln((coalesce(e.feature_events_14d, 0) / 14.0 + 1)
       / ((coalesce(e.feature_events_30d, 0) + coalesce(e.feature_events_prior_60d, 0) - coalesce(e.feature_events_14d, 0)) / 76.0 + 1)) as engagement_trend_14d,
    case when u.requests_30d > 0 then u.errors_30d * 1.0 / u.requests_30d end as api_error_rate_30d,
    coalesce(e.feature_events_30d, 0) * 1.0 / greatest(b.seats, 1) as feature_events_per_seat_30d,
    cast(coalesce(e.active_users_30d, 0) as double) as active_users_30d,
    coalesce(e.active_users_30d, 0) * 1.0 / greatest(b.seats, 1) as active_users_per_seat,
    ln((coalesce(e.feature_events_30d, 0) / 30.0 + 1) / (coalesce(e.feature_events_prior_60d, 0) / 60.0 + 1)) as engagement_trend,
    cast(coalesce(t.tickets_90d, 0) as double) as tickets_90d,
    cast(coalesce(t.high_priority_tickets_90d, 0) as double) as high_priority_tickets_90d,
    t.avg_csat_90d,
    cast(coalesce(t.low_csat_tickets_90d, 0) as double) as low_csat_tickets_90d,
    cast(coalesce(fp.failed_payments_60d, 0) as double) as failed_payments_60d,
    cast(n.score as double) as last_nps,
    cast(date_diff('day', n.responded_on, b.as_of) as double) as days_since_nps
from base as b
left join first_paid as f on f.customer_id = b.customer_id
left join mrr_before as mb on mb.customer_id = b.customer_id and mb.as_of = b.as_of
left join pending as pe on pe.customer_id = b.customer_id and pe.as_of = b.as_of
left join usage as u on u.customer_id = b.customer_id and u.as_of = b.as_of
left join events as e on e.customer_id = b.customer_id and e.as_of = b.as_of
left join tickets as t on t.customer_id = b.customer_id and t.as_of = b.as_of
left join failed as fp on fp.customer_id = b.customer_id and fp.as_of = b.as_of
left join nps_ranked as n on n.customer_id = b.customer_id and n.as_of = b.as_of and n.rn = 1
order by b.as_of, b.customer_id
"""


def _health_sql(dates: Sequence[dt.date]) -> str:
    return f"""
with snaps as (
    {_snapshots_cte(dates)}
)
select s.as_of, h.customer_id, h.health_score, h.usage_score, h.engagement_score, h.support_score,
       cast(h.billing_score as double) as billing_score, h.score_change_28d as health_change_28d
from marts.fct_customer_health_daily as h
inner join snaps as s on h.date_day = s.last_day
"""


RENEWAL_SQL = """
select s.customer_id, cast(s.started_at as date) as started_on, cast(s.ended_at as date) as ended_on,
       max(case when i.billing_interval = 'year' then 1 else 0 end) as is_annual
from staging.stg_stripe__subscriptions as s
inner join staging.stg_stripe__subscription_items as i on i.subscription_id = s.subscription_id
where s.started_at is not null
group by s.customer_id, s.started_at, s.ended_at
"""


def _renewals(settings: Settings, frame: pl.DataFrame) -> pl.DataFrame:
    """is_annual and days_to_renewal (next anniversary of the subscription start, yearly or
    monthly) for each (as_of, customer_id), from the subscriptions running at as_of."""
    subs = run_query(settings, RENEWAL_SQL)
    keys = frame.select("as_of", "customer_id")
    if subs.is_empty():
        return keys.with_columns(
            is_annual=pl.lit(None, pl.Float64), days_to_renewal=pl.lit(None, pl.Float64)
        )
    running = keys.join(subs, on="customer_id", how="inner").filter(
        (pl.col("started_on") < pl.col("as_of"))
        & (pl.col("ended_on").is_null() | (pl.col("ended_on") >= pl.col("as_of")))
    )
    out = []
    for as_of, customer_id, started, annual in running.select(
        "as_of", "customer_id", "started_on", "is_annual"
    ).iter_rows():
        step = 12 if annual else 1
        months = (as_of.year - started.year) * 12 + as_of.month - started.month
        k = max(0, months // step * step)
        nxt = _anniversary(started, k)
        while nxt < as_of:
            k += step
            nxt = _anniversary(started, k)
        out.append((as_of, customer_id, float(annual), float((nxt - as_of).days)))
    per_sub = pl.DataFrame(out, schema={"as_of": pl.Date, "customer_id": pl.String, "is_annual": pl.Float64,
                                        "days_to_renewal": pl.Float64}, orient="row")  # fmt: skip
    return per_sub.group_by("as_of", "customer_id").agg(
        pl.col("is_annual").max(), pl.col("days_to_renewal").min()
    )


def _anniversary(start: dt.date, months: int) -> dt.date:
    y, m = divmod(start.month - 1 + months, 12)
    day = min(
        start.day,
        [31, 29 if (start.year + y) % 4 == 0 else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m],
    )
    return dt.date(start.year + y, m + 1, day)


def snapshot_features(settings: Settings, dates: Sequence[dt.date]) -> pl.DataFrame:
    """Features for several snapshot dates in one query: `customer_features` with an `as_of` column."""
    if not dates:
        raise ValueError("no snapshot dates given")
    frame = run_query(settings, _features_sql(dates))
    frame = frame.join(_renewals(settings, frame), on=["as_of", "customer_id"], how="left")
    frame = frame.with_columns(pl.col(c).cast(pl.Float64) for c in NUMERIC_FEATURES)
    try:
        health = run_query(settings, _health_sql(dates))
    except Exception as exc:  # noqa: BLE001  # the health mart may not be built yet: the model runs without it
        log.warning("customer health scores unavailable, churn features go without them: %s", exc)
        health = None
    if health is not None and health.height:
        health = health.with_columns(pl.col(c).cast(pl.Float64) for c in HEALTH_FEATURES)
        frame = frame.join(health, on=["as_of", "customer_id"], how="left")
    return frame


def customer_features(settings: Settings, as_of: dt.date) -> pl.DataFrame:
    """One row per customer paying on the day before `as_of`, with features from data before it.

    Columns: customer_id, as_of, the numeric features in NUMERIC_FEATURES (plus HEALTH_FEATURES
    when fct_customer_health_daily is available) and the categoricals plan_tier, segment.
    Raises NoCustomersError when nobody was paying then.
    """
    frame = snapshot_features(settings, [as_of])
    if frame.is_empty():
        raise NoCustomersError(f"no customer was paying on {as_of - dt.timedelta(days=1)} (as_of {as_of}): "
                               "pick a date inside the warehouse's history")  # fmt: skip
    return frame


def data_end(settings: Settings) -> dt.date:
    """Last day with MRR data."""
    frame = run_query(settings, "select max(date_day) as last_day from marts.fct_mrr_daily")
    last = frame["last_day"][0] if frame.height else None
    if last is None:
        raise NoCustomersError("fct_mrr_daily is empty: build the warehouse first")
    return last


def data_start(settings: Settings) -> dt.date:
    frame = run_query(
        settings, "select min(date_day) as first_day from marts.fct_mrr_daily where mrr > 0"
    )
    first = frame["first_day"][0] if frame.height else None
    if first is None:
        raise NoCustomersError("fct_mrr_daily is empty: build the warehouse first")
    return first


def snapshot_labels(
    settings: Settings, dates: Sequence[dt.date], horizon_days: int = 90
) -> pl.DataFrame:
    """`label` for several dates at once (as_of, customer_id, churned)."""
    last = data_end(settings)
    late = [d for d in dates if d + dt.timedelta(days=horizon_days - 1) > last]
    if late:
        raise ValueError(f"labels need {horizon_days} days of data after as_of; data ends {last}, "
                         f"too late: {', '.join(str(d) for d in sorted(late))}")  # fmt: skip
    snaps = "\n    union all ".join(
        f"select {_lit(d)} as as_of, {_lit(d - dt.timedelta(days=1))} as last_day, "
        f"{_lit(d + dt.timedelta(days=horizon_days))} as horizon_end"
        for d in sorted(set(dates))
    )
    sql = f"""
with snaps as (
    {snaps}
),
paying as (
    select s.as_of, s.horizon_end, m.customer_id
    from marts.fct_mrr_daily as m
    inner join snaps as s on m.date_day = s.last_day
    where m.mrr > 0
),
paid_days as (
    select p.as_of, p.customer_id, count(distinct m.date_day) as paid_days
    from paying as p
    inner join marts.fct_mrr_daily as m
        on m.customer_id = p.customer_id and m.mrr > 0 and m.date_day >= p.as_of and m.date_day < p.horizon_end
    group by p.as_of, p.customer_id
)
select p.as_of, p.customer_id, coalesce(d.paid_days, 0) < {int(horizon_days)} as churned
from paying as p
left join paid_days as d on d.as_of = p.as_of and d.customer_id = p.customer_id
order by p.as_of, p.customer_id
"""
    return run_query(settings, sql)


def label(settings: Settings, as_of: dt.date, horizon_days: int = 90) -> pl.DataFrame:
    """customer_id, churned: a customer paying on the day before `as_of` churned when its MRR
    dropped to zero on any day of [as_of, as_of + horizon_days) (in fct_mrr_daily; a customer
    that comes back later within the window still counts as churned). Needs the whole window in
    the data (ValueError otherwise)."""
    frame = snapshot_labels(settings, [as_of], horizon_days)
    if frame.is_empty():
        raise NoCustomersError(
            f"no customer was paying on {as_of - dt.timedelta(days=1)} (as_of {as_of})"
        )
    return frame.drop("as_of")
