"""The health evaluation's definitions on small hand-made frames (figures checkable by hand)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from analytics.health.calibration import fit_weights, labelled
from analytics.health.evaluation import alarm_precision, lead_days, same_day_auc

D0 = dt.date(2026, 1, 1)


def _days(
    customer: str, n: int, score: float, risk: str = "low", start: dt.date = D0
) -> list[dict[str, object]]:
    return [{"customer_id": customer, "date_day": start + dt.timedelta(days=i), "health_score": score,
             "usage_score": score, "engagement_score": score, "support_score": 75.0, "billing_score": 75.0,
             "risk_level": risk} for i in range(n)]  # fmt: skip


def _truth(rows: list[tuple[str, bool, dt.date, dt.date]]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "customer_id": c,
                "kind": "voluntary_immediate",
                "warning_signals": w,
                "request_day": r,
                "churn_day": e,
            }
            for c, w, r, e in rows
        ]
    )


def test_same_day_auc_counts_pairs_and_ties() -> None:
    health = pl.DataFrame(_days("churner", 40, 40.0) + _days("a", 40, 80.0) + _days("b", 40, 40.0))
    truth = _truth([("churner", True, D0 + dt.timedelta(days=35), D0 + dt.timedelta(days=35))])
    auc, n = same_day_auc(health, truth, 30)
    assert n == 1
    assert auc == 0.75  # above one never-churner, tied with the other


def test_lead_is_first_fire_within_90_days_and_null_when_never() -> None:
    request = D0 + dt.timedelta(days=100)
    rows = _days("fires", 100, 30.0)
    rows = [
        r | {"risk_level": "high" if r["date_day"] >= request - dt.timedelta(days=40) else "low"}
        for r in rows
    ]
    health = pl.DataFrame(rows + _days("never", 100, 80.0))
    truth = _truth([("fires", True, request, request), ("never", True, request, request)])
    leads = dict(lead_days(health, truth).select("customer_id", "lead_days").iter_rows())
    assert leads == {"fires": 40, "never": None}


def test_alarm_precision_leaves_out_days_with_a_cancellation_pending() -> None:
    request, end = D0 + dt.timedelta(days=20), D0 + dt.timedelta(days=40)
    # flagged every day of 60: days 0-19 warn (request within 30 days), days 20-40 are pending,
    # days 41-59 are after the churn (a false alarm; the data must run 30 days past them)
    health = pl.DataFrame(_days("c", 60, 20.0, "critical") + _days("other", 120, 80.0))
    truth = _truth([("c", True, request, end)])
    assert alarm_precision(health, truth, 30) == 20 / (20 + 19)


def test_weights_follow_the_factor_that_predicts_churn() -> None:
    rows = []
    for k in range(40):
        churner = k % 4 == 0
        customer_rows = _days(f"c{k}", 120, 75.0)
        for r in customer_rows:
            r["usage_score"] = 20.0 + (k % 3) if churner else 80.0 - (k % 5)
            r["engagement_score"] = 50.0 + (k % 7)  # noise, unrelated to churn
        rows += customer_rows
    health = pl.DataFrame(rows)
    truth = _truth(
        [
            (f"c{k}", True, D0 + dt.timedelta(days=100), D0 + dt.timedelta(days=100))
            for k in range(0, 40, 4)
        ]
    )
    weights = fit_weights(labelled(health, truth, horizon=20))
    assert weights["usage"] > 0.5
    assert weights["usage"] > weights["engagement"]
