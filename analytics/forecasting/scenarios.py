"""Revenue scenarios and a monthly cash-flow projection: simple, documented, deterministic.

These are planning arithmetic, not statistical models: every number follows from the stated
assumptions, so a reader can redo them on paper.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import polars as pl

from ._panel import ForecastError

ASSUMPTIONS = ("churn_rate", "expansion_rate", "new_mrr")
DEFAULT_ADJUSTMENTS: dict[str, dict[str, float]] = {
    "optimistic": {"churn_rate": 0.75, "expansion_rate": 1.25, "new_mrr": 1.25},
    "pessimistic": {"churn_rate": 1.25, "expansion_rate": 0.75, "new_mrr": 0.75},
}


def _check_frame(frame: pl.DataFrame, name: str, columns: tuple[str, ...]) -> pl.DataFrame:
    if not isinstance(frame, pl.DataFrame):
        raise ForecastError(f"{name} must be a polars DataFrame with columns {list(columns)}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ForecastError(f"{name} is missing column(s) {missing}; got {frame.columns}")
    if frame.height == 0:
        raise ForecastError(f"{name} is empty")
    ds_dtype = frame.schema["ds"]
    if not (ds_dtype == pl.Date or isinstance(ds_dtype, pl.Datetime)):
        raise ForecastError(f"{name}.ds must be a date column, got {ds_dtype}")
    for col in columns[1:]:
        if not frame.schema[col].is_numeric():
            raise ForecastError(f"{name}.{col} must be numeric, got {frame.schema[col]}")
        bad = frame.filter(pl.col(col).is_null() | ~pl.col(col).cast(pl.Float64).is_finite())
        if bad.height:
            raise ForecastError(f"{name}.{col} has {bad.height} null/NaN value(s) (e.g. at {bad['ds'][0]}): fill or drop them")
    if frame.get_column("ds").is_duplicated().any():
        raise ForecastError(f"{name} has duplicate ds values: one row per month")
    out = frame.select(pl.col("ds").cast(pl.Date).dt.month_start(), *[pl.col(c).cast(pl.Float64) for c in columns[1:]])
    if out.get_column("ds").is_duplicated().any():
        raise ForecastError(f"{name} has several rows in one month: aggregate to one row per month first")
    return out.sort("ds")


def _months_after(last: object, k: int) -> pl.Series:
    """The `k` month starts after the month of `last`."""
    first = pl.Series([last], dtype=pl.Date).dt.month_start().dt.offset_by("1mo")
    end = first.dt.offset_by(f"{k - 1}mo")
    return pl.date_range(first[0], end[0], "1mo", eager=True).alias("ds")


def revenue_scenarios(
    mrr_monthly: pl.DataFrame,
    horizon_months: int,
    churn_rate: float,
    expansion_rate: float,
    new_mrr: float,
    adjustments: Mapping[str, Mapping[str, float]] | None = None,
) -> pl.DataFrame:
    """Month-by-month MRR for a base case and adjusted scenarios (a cohort roll-forward).

    Each month: next = current x (1 - churn_rate + expansion_rate) + new_mrr, starting from the
    last observed month of `mrr_monthly` (`ds`, `y`) and running `horizon_months` months after it.

    Assumptions (state them next to any number shown to a person):
    - `churn_rate`: monthly gross MRR churn as a fraction of the month's starting MRR, churned
      plus contraction (e.g. 0.02 = 2 %/month). `expansion_rate`: monthly expansion plus
      reactivation as a fraction of starting MRR. Both constant over the horizon.
    - `new_mrr`: MRR added by new customers each month (currency), constant; new customers are
      added at the end of the month, so they churn and expand from the month after.
    - No seasonality, price changes or currency effects; rates apply to the whole book (no cohort
      ageing: a real book's churn usually falls as cohorts age, so long horizons are conservative).
    - `adjustments`: per scenario, multipliers on the assumptions; default optimistic = churn x
      0.75, expansion x 1.25, new x 1.25, pessimistic = churn x 1.25, expansion x 0.75, new x 0.75.
      An adjusted churn rate is capped at 1. Any scenario name may be given (one column each).

    Returns `ds` (month start), `base`, then one column per scenario (`optimistic`, `pessimistic`).
    `assumptions_from_mrr_bridge` estimates the three rates from the MRR bridge mart.
    """
    history = _check_frame(mrr_monthly, "mrr_monthly", ("ds", "y"))
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int) or horizon_months < 1:
        raise ForecastError(f"horizon_months must be a positive integer, got {horizon_months!r}")
    base = {"churn_rate": churn_rate, "expansion_rate": expansion_rate, "new_mrr": new_mrr}
    _check_assumptions(base, "base")
    scenarios: dict[str, dict[str, float]] = {"base": base}
    for name, factors in (DEFAULT_ADJUSTMENTS if adjustments is None else adjustments).items():
        unknown = set(factors) - set(ASSUMPTIONS)
        if unknown or name == "base":
            raise ForecastError(f"adjustments[{name!r}]: scenario names other than 'base', with multipliers for "
                                f"{list(ASSUMPTIONS)}; unknown: {sorted(unknown)}")  # fmt: skip
        if any(not isinstance(v, int | float) or v < 0 for v in factors.values()):
            raise ForecastError(f"adjustments[{name!r}]: multipliers must be non-negative numbers, got {dict(factors)}")
        adjusted = {k: base[k] * float(factors.get(k, 1.0)) for k in ASSUMPTIONS}
        adjusted["churn_rate"] = min(adjusted["churn_rate"], 1.0)
        scenarios[name] = adjusted

    start = float(history.get_column("y")[-1])
    if start < 0:
        raise ForecastError(f"the last MRR value is negative ({start}): MRR cannot be negative")
    columns: dict[str, object] = {"ds": _months_after(history.get_column("ds")[-1], horizon_months)}
    for name, a in scenarios.items():
        growth = 1.0 - a["churn_rate"] + a["expansion_rate"]
        values, current = [], start
        for _ in range(horizon_months):
            current = max(current * growth + a["new_mrr"], 0.0)
            values.append(current)
        columns[name] = values
    return pl.DataFrame(columns)


def _check_assumptions(a: Mapping[str, float], name: str) -> None:
    for key in ASSUMPTIONS:
        v = a[key]
        if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
            raise ForecastError(f"{name} {key} must be a number, got {v!r}")
    if not 0 <= a["churn_rate"] <= 1:
        raise ForecastError(f"churn_rate is a monthly fraction between 0 and 1 (0.02 = 2 %), got {a['churn_rate']}")
    if a["expansion_rate"] < 0:
        raise ForecastError(f"expansion_rate is a non-negative monthly fraction, got {a['expansion_rate']}")
    if a["new_mrr"] < 0:
        raise ForecastError(f"new_mrr is MRR added per month (>= 0), got {a['new_mrr']}")


def assumptions_from_mrr_bridge(bridge: pl.DataFrame, months: int = 6) -> dict[str, float]:
    """The three `revenue_scenarios` assumptions from the monthly MRR bridge
    (`marts.fct_mrr_summary_monthly`: `month_start`, `starting_mrr`, `new_mrr`, `expansion_mrr`,
    `reactivation_mrr`, `contraction_mrr`, `churned_mrr`), over its last `months` rows with a
    positive starting MRR (pass complete months only):
    churn_rate = sum(churned + contraction) / sum(starting); expansion_rate =
    sum(expansion + reactivation) / sum(starting); new_mrr = mean(new)."""
    need = ("month_start", "starting_mrr", "new_mrr", "expansion_mrr", "reactivation_mrr", "contraction_mrr", "churned_mrr")
    missing = [c for c in need if c not in bridge.columns]
    if missing:
        raise ForecastError(f"bridge is missing column(s) {missing}: pass marts.fct_mrr_summary_monthly")
    recent = bridge.filter(pl.col("starting_mrr") > 0).sort("month_start").tail(months)
    if recent.height == 0:
        raise ForecastError("bridge has no month with a positive starting MRR: nothing to estimate rates from")
    s = recent.select(
        (pl.col("churned_mrr").abs() + pl.col("contraction_mrr").abs()).sum() / pl.col("starting_mrr").sum(),
        (pl.col("expansion_mrr") + pl.col("reactivation_mrr")).sum() / pl.col("starting_mrr").sum(),
        pl.col("new_mrr").mean(),
    ).row(0)
    return {"churn_rate": float(s[0]), "expansion_rate": float(s[1]), "new_mrr": float(s[2])}


def cash_flow_projection(
    mrr_projection: pl.DataFrame,
    costs_monthly: pl.DataFrame,
    *,
    mrr_column: str = "base",
    collection_rate: float = 0.97,
    annual_prepayments: pl.DataFrame | None = None,
    annual_mrr_share: float = 0.0,
    opening_cash: float = 0.0,
    cost_trend_months: int = 12,
) -> pl.DataFrame:
    """Cash in and out by month over the months of `mrr_projection`.

    - Collections = MRR x (1 - `annual_mrr_share`) x `collection_rate`: monthly-billed MRR
      collected in the month it is billed, less failed payments and bad debt (default 3 %).
      `mrr_projection` is `ds` plus the column `mrr_column` (e.g. the output of
      `revenue_scenarios`, column `base`).
    - Prepayments: annual plans pay twelve months up front; `annual_prepayments` (`ds`, `amount`)
      is the cash expected from annual invoices per month, added as it falls due (not multiplied
      by the collection rate). `annual_mrr_share` is the share of MRR on annual plans, left out
      of monthly collections so it is not counted twice.
    - Costs: a straight-line trend (least squares) through the last `cost_trend_months` months of
      `costs_monthly` (`ds`, `y`), extended over the projection months, never below zero; with a
      single month of cost history, flat at that month.
    - Net cash flow = collections + prepayments - costs; ending cash accumulates from
      `opening_cash`. No taxes, financing, payment terms or working-capital timing.

    Returns `ds`, `mrr`, `collections`, `prepayments`, `costs`, `net_cash_flow`, `ending_cash`.
    """
    if mrr_column not in mrr_projection.columns:
        raise ForecastError(f"mrr_projection has no column {mrr_column!r} (columns {mrr_projection.columns}): "
                            "pass mrr_column=")  # fmt: skip
    proj = _check_frame(mrr_projection.select("ds", pl.col(mrr_column).alias("mrr")), "mrr_projection", ("ds", "mrr"))
    costs = _check_frame(costs_monthly, "costs_monthly", ("ds", "y"))
    if not 0 <= collection_rate <= 1:
        raise ForecastError(f"collection_rate is a fraction between 0 and 1, got {collection_rate}")
    if not 0 <= annual_mrr_share <= 1:
        raise ForecastError(f"annual_mrr_share is a fraction between 0 and 1, got {annual_mrr_share}")
    if isinstance(cost_trend_months, bool) or not isinstance(cost_trend_months, int) or cost_trend_months < 1:
        raise ForecastError(f"cost_trend_months must be a positive integer, got {cost_trend_months!r}")

    recent = costs.tail(cost_trend_months)
    month_index = lambda d: pl.col(d).dt.year() * 12 + pl.col(d).dt.month()
    x = recent.select(month_index("ds")).to_series().to_numpy().astype(float)
    y = recent.get_column("y").to_numpy()
    slope, icpt = (np.polyfit(x, y, 1) if len(x) >= 2 else (0.0, float(y[-1])))
    out = proj.with_columns(
        (pl.col("mrr") * (1 - annual_mrr_share) * collection_rate).alias("collections"),
        (pl.lit(icpt) + pl.lit(slope) * month_index("ds").cast(pl.Float64)).clip(lower_bound=0.0).alias("costs"),
    )
    if annual_prepayments is not None:
        pre = _check_frame(annual_prepayments.group_by(pl.col("ds").cast(pl.Date).dt.month_start())
                           .agg(pl.col("amount").sum()), "annual_prepayments", ("ds", "amount"))  # fmt: skip
        out = out.join(pre.rename({"amount": "prepayments"}), on="ds", how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Float64).alias("prepayments"))
    out = out.with_columns(pl.col("prepayments").fill_null(0.0)).with_columns(
        (pl.col("collections") + pl.col("prepayments") - pl.col("costs")).alias("net_cash_flow")
    )
    return out.with_columns((pl.lit(float(opening_cash)) + pl.col("net_cash_flow").cum_sum()).alias("ending_cash")).select(
        "ds", "mrr", "collections", "prepayments", "costs", "net_cash_flow", "ending_cash"
    )
