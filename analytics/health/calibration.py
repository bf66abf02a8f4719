"""Calibrate the health score's weights and risk bands on history, and check them on a later period.

    uv run python -m analytics.health.calibration path/to/warehouse.duckdb

The factor scores of `fct_customer_health_daily` do not depend on the weights, so they are read
once from the mart. A logistic regression of "requests a cancellation within the next LABEL_DAYS (90) days" on
the four factor scores, fit on customer-days (one a week) before the split day, gives the weights:
health = sum(w_f * score_f) / sum(w_f) with w_f proportional to -coef_f is then an affine map of
the fitted log-odds, so it ranks customers as the fit does (a factor whose coefficient is not
negative gets weight 0). The alarm band (high + critical = below `medium`) is the highest integer
threshold whose 30-day alarm precision on the fitting period reaches `precision_target`;
critical sits where precision reaches `critical_precision`; `low` is the never-churners' median.
Both are then measured on the days after the split (same definitions as analytics.health.
evaluation). The dbt var `health_weights` / `health_risk_bands` carry the committed result.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass

import duckdb
import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from analytics.health.evaluation import alarm_precision, load

FACTORS = ("usage", "engagement", "support", "billing")
LABEL_DAYS = 90
SAMPLE_EVERY_DAYS = 7


@dataclass(frozen=True)
class Calibration:
    weights: dict[str, float]
    bands: dict[str, int]
    split_day: dt.date
    n_fit: int
    n_eval: int
    eval_auc_fitted: float
    eval_auc_given: float
    eval_precision_30d: float


def health(frame: pl.DataFrame, weights: dict[str, float]) -> pl.Expr:
    """The dbt formula: the weighted average of the factor scores."""
    total = sum(weights.values())
    return sum(pl.col(f"{f}_score") * (w / total) for f, w in weights.items())  # type: ignore[return-value]


def labelled(
    health_daily: pl.DataFrame, truth: pl.DataFrame, horizon: int = LABEL_DAYS
) -> pl.DataFrame:
    """Customer-days with `churns` = a cancellation request within the next `horizon` days; days
    with a request pending and days whose horizon runs past the data are left out."""
    last = health_daily["date_day"].max()
    days = health_daily.filter(pl.col("date_day") <= last - dt.timedelta(days=horizon))
    req = truth.select("customer_id", "request_day", "churn_day")
    joined = days.select("customer_id", "date_day").join(req, on="customer_id", how="left")
    flags = joined.group_by("customer_id", "date_day").agg(
        ((pl.col("request_day") > pl.col("date_day"))
         & (pl.col("request_day") <= pl.col("date_day") + pl.duration(days=horizon))).any().alias("churns"),
        ((pl.col("date_day") >= pl.col("request_day")) & (pl.col("date_day") <= pl.col("churn_day"))).any().alias("pending"),
    )  # fmt: skip
    return (
        days.join(flags, on=["customer_id", "date_day"])
        .filter(~pl.col("pending").fill_null(False))
        .with_columns(pl.col("churns").fill_null(False))
    )


def fit_weights(frame: pl.DataFrame) -> dict[str, float]:
    x = frame.select([f"{f}_score" for f in FACTORS]).to_numpy() / 100.0
    model = LogisticRegression(C=1.0, max_iter=1000).fit(x, frame["churns"].to_numpy())
    raw = np.clip(-model.coef_[0], 0, None)
    return {f: round(float(v / raw.sum()), 2) for f, v in zip(FACTORS, raw, strict=True)}


def pick_bands(
    frame: pl.DataFrame, truth: pl.DataFrame, weights: dict[str, float],
    precision_target: float = 0.6, critical_precision: float = 0.8,
) -> dict[str, int]:  # fmt: skip
    scored = frame.with_columns(health(frame, weights).alias("health_score"))

    def precision_below(t: float) -> float:
        flagged = scored.with_columns(
            pl.when(pl.col("health_score") < t)
            .then(pl.lit("high"))
            .otherwise(pl.lit("low"))
            .alias("risk_level")
        )
        return alarm_precision(flagged, truth, 30)

    def highest(target: float) -> int:
        best = 1
        for t in range(1, 100):
            p = precision_below(t)
            if np.isnan(p):
                continue
            if p >= target:
                best = t
        return best

    medium, high = highest(precision_target), highest(critical_precision)
    never = scored.join(truth.select("customer_id").unique(), on="customer_id", how="anti")
    low = max(medium + 1, round(float(never["health_score"].median())))
    return {"low": low, "medium": medium, "high": min(high, medium)}


def calibrate(con: duckdb.DuckDBPyConnection, given: dict[str, float] | None = None) -> Calibration:
    health_daily, _, truth = load(con)
    data = labelled(health_daily, truth)
    days = data["date_day"]
    split = days.min() + (days.max() - days.min()) / 2
    first = data["date_day"].min()
    weekly = data.filter(((pl.col("date_day") - first).dt.total_days() % SAMPLE_EVERY_DAYS) == 0)
    fit, later = (
        weekly.filter(pl.col("date_day") < split),
        weekly.filter(pl.col("date_day") >= split),
    )
    weights = fit_weights(fit)
    bands = pick_bands(health_daily.filter(pl.col("date_day") < split), truth, weights)
    given = given or weights
    auc = {name: float(roc_auc_score(later["churns"].to_numpy(),
                                     -later.select(health(later, w)).to_series().to_numpy()))
           for name, w in (("fitted", weights), ("given", given))}  # fmt: skip
    after = health_daily.filter(pl.col("date_day") >= split)
    scored = after.with_columns(health(after, weights).alias("health_score")).with_columns(
        pl.when(pl.col("health_score") < bands["medium"])
        .then(pl.lit("high"))
        .otherwise(pl.lit("low"))
        .alias("risk_level")
    )
    return Calibration(
        weights=weights, bands=bands, split_day=split, n_fit=fit.height, n_eval=later.height,
        eval_auc_fitted=auc["fitted"], eval_auc_given=auc["given"],
        eval_precision_30d=alarm_precision(scored, truth, 30),
    )  # fmt: skip


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "data/warehouse.duckdb"
    con = duckdb.connect(path, read_only=True)
    try:
        c = calibrate(con)
    finally:
        con.close()
    print(
        f"fit on customer-days before {c.split_day} ({c.n_fit} weekly rows), evaluated after ({c.n_eval})"
    )
    print(f"health_weights: {{{', '.join(f'{k}: {v}' for k, v in c.weights.items())}}}")
    print(f"health_risk_bands: {{{', '.join(f'{k}: {v}' for k, v in c.bands.items())}}}")
    print(f"later period: AUC of (100 - health) for a request within {LABEL_DAYS} days {c.eval_auc_fitted:.3f}; "
          f"30-day alarm precision {c.eval_precision_30d:.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
