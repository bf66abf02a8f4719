"""Capacity: when will each service cross its utilisation threshold?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from ._panel import UID, FillGaps, ForecastError
from .core import Method, forecast

STATUS = ("above", "crosses", "may_cross", "ok")
# Demand can run above capacity for a while (requests queue or are throttled: the demo's surge
# peaks at 1.02), so utilisation is accepted up to 200 %; above that it is taken for percentages.
MAX_UTILISATION = 2.0


@dataclass(frozen=True)
class CapacityForecast:
    """`forecast`: per service and date `yhat`, `yhat_lower`, `yhat_upper`, `method`, `warning`
    (utilisation, clipped to 0-MAX_UTILISATION). `summary`: one row per service: `last_ds`,
    `last_utilisation`, `peak_yhat`, `threshold`, `crosses_on` (first forecast date with
    yhat >= threshold, or null), `crosses_on_upper` (same for yhat_upper: the earliest date it
    plausibly happens), `periods_until` (periods from the last observation to `crosses_on`),
    `status` (`above` = last observation already at or above the threshold; `crosses` = the
    forecast crosses; `may_cross` = only the upper bound crosses; `ok`), `method`."""

    forecast: pl.DataFrame
    summary: pl.DataFrame


def capacity_forecast(
    utilisation: pl.DataFrame,
    horizon: int,
    threshold: float = 0.8,
    *,
    freq: str | None = None,
    method: Method = "auto",
    level: float = 80,
    season_length: int | None = None,
    candidates: Sequence[str] | None = None,
    fill_gaps: FillGaps = "interpolate",
) -> CapacityForecast:
    """Forecast peak utilisation per service (`unique_id` = service, `ds`, `y` = peak utilisation
    as a fraction, 1 = at capacity) `horizon` periods ahead and find the first date each
    crosses `threshold`.

    Uses `forecast` (same edge-case rules), then clips forecasts and bounds to 0-MAX_UTILISATION.
    Values above MAX_UTILISATION are rejected as probably percentages.
    """
    if not isinstance(threshold, int | float) or isinstance(threshold, bool) or not 0 < threshold <= 1:
        raise ForecastError(f"threshold is a utilisation fraction in (0, 1], e.g. 0.8, got {threshold!r}")
    if "y" in utilisation.columns and utilisation.schema["y"].is_numeric():
        y = utilisation.get_column("y")
        if (y > MAX_UTILISATION).any() or (y < 0).any():
            raise ForecastError(f"utilisation y must be a fraction (1 = at capacity) between 0 and {MAX_UTILISATION:g} "
                                f"(got min {y.min()}, max {y.max()}); percentages: divide by 100")  # fmt: skip
    has_uid = UID in utilisation.columns
    if not has_uid:
        utilisation = utilisation.with_columns(pl.lit("service").alias(UID))
    fc = forecast(utilisation, horizon, freq=freq, method=method, level=level, season_length=season_length,
                  candidates=candidates, fill_gaps=fill_gaps)  # fmt: skip
    fc = fc.with_columns(pl.col("yhat", "yhat_lower", "yhat_upper").clip(0.0, MAX_UTILISATION))
    last = utilisation.sort("ds").group_by(UID, maintain_order=True).agg(
        pl.col("ds").last().alias("last_ds"), pl.col("y").last().cast(pl.Float64).alias("last_utilisation")
    )
    crossing = pl.col("yhat") >= threshold
    summary = fc.group_by(UID, maintain_order=True).agg(
        pl.col("yhat").max().alias("peak_yhat"),
        pl.col("ds").filter(crossing).first().alias("crosses_on"),
        pl.col("ds").filter(pl.col("yhat_upper") >= threshold).first().alias("crosses_on_upper"),
        pl.when(crossing.any()).then(crossing.arg_max() + 1).alias("periods_until"),
        pl.col("method").first(),
    ).join(last, on=UID)
    summary = summary.with_columns(
        pl.lit(float(threshold)).alias("threshold"),
        pl.when(pl.col("last_utilisation") >= threshold).then(pl.lit("above"))
        .when(pl.col("crosses_on").is_not_null()).then(pl.lit("crosses"))
        .when(pl.col("crosses_on_upper").is_not_null()).then(pl.lit("may_cross"))
        .otherwise(pl.lit("ok")).alias("status"),
    )  # fmt: skip
    summary = summary.select(UID, "last_ds", "last_utilisation", "peak_yhat", "threshold", "crosses_on",
                             "crosses_on_upper", pl.col("periods_until").cast(pl.Int64), "status", "method").sort(UID)  # fmt: skip
    if not has_uid:
        fc, summary = fc.drop(UID), summary.drop(UID)
    return CapacityForecast(forecast=fc, summary=summary)
