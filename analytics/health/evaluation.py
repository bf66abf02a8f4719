"""How well the customer health score separates and warns, measured on the demo's planted truth.

Reads `marts.fct_customer_health_daily`, `marts.fct_customer_health_current` and
`demo_truth.churned_customers` (plain selects; every figure is computed here in polars/numpy).

Definitions (DECISIONLOG "Customer health: how it is measured"):
- *Warning churner*: a planted churn with `warning_signals` (usage, engagement and support pain
  from `signals_start`); its *request day* is the date of `cancel_requested_at`.
- *Never-churner*: a customer with no row in `demo_truth.churned_customers`.
- *AUC at k days*: each warning churner's score on request day - k against every never-churner's
  score on that same calendar day; AUC of (100 - health) over all such pairs (ties count half).
  Same-day pairs cancel seasonality and outages, which move everyone's score together.
- *Lead*: days from the first high/critical day within the 90 days before the request (signals
  start 45-90 days out) to the request; a churner that never fires there counts 0 days.
- *Precision of the 30-day alarm*: of the customer-days in high/critical on which the customer has
  no cancellation pending and whose next 30 days are observed, the share whose customer requests a
  cancellation (any kind, also involuntary churn) within those 30 days. Days from a request to
  the end of the subscription are left out: the customer has already given notice, so a flag
  there is neither a warning nor a false alarm.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import duckdb
import numpy as np
import polars as pl

AT_RISK = ("high", "critical")
LEAD_WINDOW_DAYS = 90
ALARM_DAYS = 30

HEALTH_SQL = """
select customer_id, date_day, health_score, usage_score, engagement_score, support_score,
       billing_score, risk_level
from marts.fct_customer_health_daily
"""
CURRENT_SQL = "select customer_id, health_score from marts.fct_customer_health_current"
TRUTH_SQL = """
select customer_id, kind, warning_signals, cast(cancel_requested_at as date) as request_day,
       cast(churned_at as date) as churn_day
from demo_truth.churned_customers
where cancel_requested_at is not null
"""


@dataclass(frozen=True)
class HealthEvaluation:
    """The issue's targets, and the figures around them."""

    warning_churners: int
    auc_30d: float
    auc_60d: float
    churners_at_30d: int
    churners_at_60d: int
    median_lead_days: float  # never-fired churners count 0
    median_lead_days_fired: float
    never_fired_share: float
    alarm_precision_30d: float
    alarm_precision_60d: float
    at_risk_day_share: float  # of all customer-days
    current_customers: int
    current_p10: float
    current_median: float
    current_p90: float
    current_spread: float  # p90 - p10
    current_share_above_80: float
    factor_share_at_100: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def load(con: duckdb.DuckDBPyConnection) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(health daily, health current, truth) from a warehouse connection."""
    health, current, truth = (_frame(con, sql) for sql in (HEALTH_SQL, CURRENT_SQL, TRUTH_SQL))
    return health, current, truth


def _frame(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    frame = pl.from_arrow(con.sql(sql).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def same_day_auc(health: pl.DataFrame, truth: pl.DataFrame, days_before: int) -> tuple[float, int]:
    """AUC of (100 - health) of warning churners k days before their request vs never-churners
    on the same day, pooled over all (churner, never-churner) pairs; and the churners counted."""
    churners = truth.filter(pl.col("warning_signals")).select(
        "customer_id", (pl.col("request_day") - pl.duration(days=days_before)).alias("date_day")
    )
    scored = churners.join(
        health.select("customer_id", "date_day", "health_score"), on=["customer_id", "date_day"]
    )
    never = health.join(truth.select("customer_id").unique(), on="customer_id", how="anti")
    wins, pairs = 0.0, 0
    for day, group in scored.group_by("date_day"):
        others = np.sort(never.filter(pl.col("date_day") == day[0])["health_score"].to_numpy())
        if others.size == 0:
            continue
        for s in group["health_score"].to_numpy():
            above = others.size - np.searchsorted(others, s, side="right")
            ties = np.searchsorted(others, s, side="right") - np.searchsorted(
                others, s, side="left"
            )
            wins += above + 0.5 * ties
            pairs += others.size
    return (wins / pairs if pairs else float("nan")), scored.height


def lead_days(health: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per warning churner: days from the first high/critical day in the 90 days before the
    request to the request (null when it never fires there)."""
    churners = truth.filter(pl.col("warning_signals")).select("customer_id", "request_day")
    window = churners.join(
        health.select("customer_id", "date_day", "risk_level"), on="customer_id"
    ).filter(
        (pl.col("date_day") < pl.col("request_day"))
        & (pl.col("date_day") >= pl.col("request_day") - pl.duration(days=LEAD_WINDOW_DAYS))
    )
    seen = window.group_by("customer_id", "request_day").agg(
        pl.col("date_day").filter(pl.col("risk_level").is_in(AT_RISK)).min().alias("first_fire")
    )
    return seen.with_columns(
        (pl.col("request_day") - pl.col("first_fire")).dt.total_days().alias("lead_days")
    )


def alarm_precision(
    health: pl.DataFrame, truth: pl.DataFrame, horizon_days: int = ALARM_DAYS
) -> float:
    """Share of high/critical customer-days (no cancellation pending, next `horizon_days` observed)
    whose customer requests a cancellation within the next `horizon_days` days."""
    last_day = health["date_day"].max()
    flagged = health.filter(
        pl.col("risk_level").is_in(AT_RISK)
        & (pl.col("date_day") <= last_day - dt.timedelta(days=horizon_days))
    ).select("customer_id", "date_day")
    requests = truth.select("customer_id", "request_day", "churn_day")
    pending = (
        flagged.join(requests, on="customer_id")
        .filter(
            (pl.col("date_day") >= pl.col("request_day"))
            & (pl.col("date_day") <= pl.col("churn_day"))
        )
        .select("customer_id", "date_day")
        .unique()
    )
    flagged = flagged.join(pending, on=["customer_id", "date_day"], how="anti")
    if flagged.height == 0:
        return float("nan")
    hits = (
        flagged.join(requests, on="customer_id")
        .filter(
            (pl.col("request_day") > pl.col("date_day"))
            & (pl.col("request_day") <= pl.col("date_day") + pl.duration(days=horizon_days))
        )
        .select("customer_id", "date_day")
        .unique()
    )
    return hits.height / flagged.height


def evaluate(health: pl.DataFrame, current: pl.DataFrame, truth: pl.DataFrame) -> HealthEvaluation:
    auc30, n30 = same_day_auc(health, truth, 30)
    auc60, n60 = same_day_auc(health, truth, 60)
    leads = lead_days(health, truth)
    lead_or_zero = leads["lead_days"].fill_null(0)
    fired = leads["lead_days"].drop_nulls()
    scores = current["health_score"].to_numpy().astype(float)
    p10, p50, p90 = (
        (float(np.quantile(scores, q)) for q in (0.1, 0.5, 0.9)) if scores.size else (np.nan,) * 3
    )
    factors = ("usage_score", "engagement_score", "support_score", "billing_score")
    return HealthEvaluation(
        warning_churners=truth.filter(pl.col("warning_signals")).height,
        auc_30d=auc30,
        auc_60d=auc60,
        churners_at_30d=n30,
        churners_at_60d=n60,
        median_lead_days=float(lead_or_zero.median()) if leads.height else float("nan"),
        median_lead_days_fired=float(fired.median()) if fired.len() else float("nan"),
        never_fired_share=leads["lead_days"].null_count() / leads.height
        if leads.height
        else float("nan"),
        alarm_precision_30d=alarm_precision(health, truth, 30),
        alarm_precision_60d=alarm_precision(health, truth, 60),
        at_risk_day_share=health.filter(pl.col("risk_level").is_in(AT_RISK)).height
        / max(health.height, 1),
        current_customers=current.height,
        current_p10=p10,
        current_median=p50,
        current_p90=p90,
        current_spread=p90 - p10,
        current_share_above_80=float((scores > 80).mean()) if scores.size else float("nan"),
        factor_share_at_100={f: float((health[f] >= 100).mean()) for f in factors},
    )


def evaluate_warehouse(con: duckdb.DuckDBPyConnection) -> HealthEvaluation:
    return evaluate(*load(con))
