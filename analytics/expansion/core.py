"""Expansion opportunities and a per-customer value forecast.

Opportunities come from `marts.fct_upsell_signals` (one row per current customer, as of the last
day with usage data; its flags follow the DECISIONLOG "Upsell" thresholds). The expansion score
(0-1) is 0.6 x the mean of four capped components + 0.4 x the share of the four flags raised:
- usage: requests in the last 30 days / the plan's included requests (capped at 1),
- seat utilisation: users active in the last 30 days / seats (capped at 1),
- plan room: seats / the plan's seat maximum (capped at 1),
- growth: last 30 days of requests vs the 30 before, 0 at no growth, 1 at +50% or more.

Value forecast, per customer, over `horizon_months`:
  expected MRR in month k = current MRR x S(k) x (1 + g)^k, expected revenue = sum over k = 1..H,
where S(k) = exp(-lambda k) is the survival from the churn model's 90-day probability under a
constant hazard (lambda = -ln(1 - p) / (90 / 30.44) per month), and g is the company's observed
monthly expansion rate among retained customers over the last 12 months (expansion - contraction
MRR over start MRR of customers paying at both ends of the month), scaled by 0.5 + expansion score
(so a customer with every signal raised expands 1.5x the average, one with none 0.5x).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from analytics.settings import Settings
from analytics.warehouse import run_query

FLAGS = ("near_usage_limit", "seats_full", "at_plan_seat_max", "growing_fast")

OPPORTUNITIES_SQL = """
select customer_id, customer_name, segment, as_of_date, plan_tier, subscription_status, current_mrr,
       api_requests_included, requests_30d, requests_prev_30d, usage_pct_of_included, usage_growth,
       seats, seats_included_max, seats_pct_of_plan_max, users, active_users_30d, seat_utilisation,
       near_usage_limit, seats_full, at_plan_seat_max, growing_fast, signal_count, priority
from marts.fct_upsell_signals
"""

EXPANSION_RATE_SQL = """
with months as (  -- the last 12 months of data (portable: no interval arithmetic)
    select month_start, dense_rank() over (order by month_start desc) as months_back
    from (select distinct month_start from marts.fct_customer_mrr_monthly) as m
),
recent as (
    select c.* from marts.fct_customer_mrr_monthly as c
    inner join months on months.month_start = c.month_start
    where months.months_back <= 12 and c.is_paying_start = 1 and c.is_paying_end = 1
)
select sum(expansion_mrr) as expansion, sum(contraction_mrr) as contraction, sum(start_mrr) as start_mrr,
       count(distinct month_start) as months
from recent
"""


def _action(row: dict[str, Any]) -> str:
    if row["at_plan_seat_max"]:
        return "propose the next plan tier: seats at the plan's maximum"
    if row["near_usage_limit"]:
        return "propose a higher request volume or the next tier: usage near the plan's included requests"
    if row["seats_full"]:
        return "offer more seats: nearly every seat is active"
    if row["growing_fast"]:
        return "check in on the growth: usage rising fast"
    return "no expansion action; keep nurturing"


def opportunities(settings: Settings) -> pl.DataFrame:
    """One row per current customer: the upsell signals, `expansion_score` (0-1) and
    `suggested_action`, highest score first."""
    frame = run_query(settings, OPPORTUNITIES_SQL)
    if frame.is_empty():
        return frame.with_columns(
            expansion_score=pl.lit(None, pl.Float64), suggested_action=pl.lit(None, pl.String)
        )
    clip = lambda e: e.fill_null(0.0).fill_nan(0.0).clip(0.0, 1.0)
    components = [
        clip(pl.col("usage_pct_of_included")),
        clip(pl.col("seat_utilisation")),
        clip(pl.col("seats_pct_of_plan_max")),
        clip(pl.col("usage_growth") / 0.5),
    ]
    flags = pl.sum_horizontal(pl.col(f).fill_null(False).cast(pl.Float64) for f in FLAGS) / len(
        FLAGS
    )
    score = 0.6 * pl.mean_horizontal(components) + 0.4 * flags
    frame = frame.with_columns(expansion_score=score.clip(0.0, 1.0).round(4))
    actions = [_action(r) for r in frame.select(FLAGS).fill_null(False).iter_rows(named=True)]
    return frame.with_columns(suggested_action=pl.Series(actions, dtype=pl.String)).sort(
        ["expansion_score", "current_mrr"], descending=True
    )


def monthly_expansion_rate(settings: Settings) -> float:
    """(expansion - contraction) / start MRR per month among customers paying at both ends,
    over the last 12 months; 0 when there is no history."""
    row = run_query(settings, EXPANSION_RATE_SQL).row(0, named=True)
    start, months = row["start_mrr"] or 0.0, row["months"] or 0
    if start <= 0 or months == 0:
        return 0.0
    return float(((row["expansion"] or 0.0) - (row["contraction"] or 0.0)) / start)


def value_forecast(
    settings: Settings, horizon_months: int = 12, churn_run: Any | None = None
) -> pl.DataFrame:
    """customer_id, current_mrr, churn_probability_90d, survival_at_horizon,
    monthly_expansion_rate, expected_mrr_at_horizon, expected_revenue (sum of the expected MRR
    of months 1..horizon_months). `churn_run` reuses an `analytics.churn.run` result."""
    if horizon_months < 1:
        raise ValueError("horizon_months must be at least 1")
    from analytics.churn import run as churn_run_fn

    churn = churn_run if churn_run is not None else churn_run_fn(settings)
    opps = opportunities(settings).select("customer_id", "current_mrr", "expansion_score")
    preds = churn.predictions.select("customer_id", "churn_probability")
    frame = opps.join(preds, on="customer_id", how="left").filter(pl.col("current_mrr") > 0)
    base_rate = float(preds["churn_probability"].mean()) if preds.height else 0.0
    p = frame["churn_probability"].fill_null(base_rate).to_numpy()
    horizon_days = churn.model.horizon_days
    lam = -np.log1p(-np.clip(p, 0.0, 1 - 1e-9)) / (horizon_days / 30.44)
    g = monthly_expansion_rate(settings) * (
        0.5 + frame["expansion_score"].fill_null(0.0).to_numpy()
    )
    k = np.arange(1, horizon_months + 1)[None, :]
    mrr = frame["current_mrr"].to_numpy()[:, None]
    path = mrr * np.exp(-lam[:, None] * k) * (1 + g[:, None]) ** k
    return (
        frame.select("customer_id", "current_mrr")
        .with_columns(
            churn_probability_90d=pl.Series(p),
            survival_at_horizon=pl.Series(np.exp(-lam * horizon_months)),
            monthly_expansion_rate=pl.Series(g),
            expected_mrr_at_horizon=pl.Series(path[:, -1]),
            expected_revenue=pl.Series(path.sum(axis=1)),
            horizon_months=pl.lit(horizon_months),
        )
        .sort("expected_revenue", descending=True)
    )
