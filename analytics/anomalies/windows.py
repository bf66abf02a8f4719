"""Contiguous anomalous stretches of a detection result, for insights and alerts."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Literal

import polars as pl

from ._grid import UID, AnomalyError


@dataclass(frozen=True)
class AnomalyWindow:
    """One run of consecutive anomalous rows of one series (or entity).

    start, end: first and last anomalous period (both inclusive). periods: anomalous rows in it.
    peak_*: the row with the highest score. direction: "up" when the peak is above its expected
    value (multivariate: its top feature's deviation), else "down". deviation: relative change
    at the peak, (y - expected) / |expected| (None without y/expected or when expected is 0).
    top_feature: the peak's top feature (multivariate results only).
    """

    series_id: object
    start: dt.date | dt.datetime
    end: dt.date | dt.datetime
    periods: int
    peak_ds: dt.date | dt.datetime
    peak_score: float
    direction: Literal["up", "down"]
    peak_y: float | None = None
    peak_expected: float | None = None
    deviation: float | None = None
    top_feature: str | None = None

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def anomaly_windows(
    result: pl.DataFrame, *, id_col: str | None = None, ds_col: str = "ds", max_gap: int = 0
) -> list[AnomalyWindow]:
    """The contiguous anomalous windows of a `detect`, `detect_many` or `detect_multivariate`
    result, sorted by series and start.

    id_col: the series column (default `unique_id` when present; none for a single series).
    max_gap: how many non-anomalous rows may sit inside one window (default 0: strictly
        consecutive rows; rows absent from the result, such as gaps in the data, never split a
        window).
    """
    if not isinstance(result, pl.DataFrame):
        raise AnomalyError(f"result must be a polars DataFrame, got {type(result).__name__}")
    if id_col is None and UID in result.columns:
        id_col = UID
    missing = [
        c
        for c in (ds_col, "score", "is_anomaly", id_col)
        if c is not None and c not in result.columns
    ]
    if missing:
        raise AnomalyError(
            f"result is missing column(s) {missing}: pass the output of detect / detect_multivariate"
        )
    if max_gap < 0:
        raise AnomalyError(f"max_gap must be >= 0, got {max_gap}")
    has_y = "y" in result.columns and "expected" in result.columns
    frame = result.select(
        (pl.col(id_col) if id_col else pl.lit(None)).alias("_id"),
        pl.col(ds_col).alias("_ds"),
        pl.col("score").cast(pl.Float64).alias("_score"),
        pl.col("is_anomaly").fill_null(False).alias("_a"),
        (pl.col("y").cast(pl.Float64) if has_y else pl.lit(None, pl.Float64)).alias("_y"),
        (pl.col("expected").cast(pl.Float64) if has_y else pl.lit(None, pl.Float64)).alias("_e"),
        (pl.col("direction") if "direction" in result.columns else pl.lit(None, pl.String)).alias(
            "_dir"
        ),
        (
            pl.col("top_feature") if "top_feature" in result.columns else pl.lit(None, pl.String)
        ).alias("_top"),
    ).sort("_id", "_ds", nulls_last=True)
    # number the rows per series; a window breaks where more than max_gap rows separate anomalies
    frame = frame.with_columns(pl.int_range(pl.len()).over("_id").alias("_i")).filter("_a")
    gap = (pl.col("_i") - pl.col("_i").shift(1).over("_id")).fill_null(max_gap + 2) - 1
    frame = frame.with_columns((gap > max_gap).cum_sum().alias("_w"))
    out: list[AnomalyWindow] = []
    for (_,), rows in frame.group_by(["_w"], maintain_order=True):
        peak = rows.row(int(rows["_score"].fill_null(-1.0).arg_max() or 0), named=True)
        y, e = peak["_y"], peak["_e"]
        if peak["_dir"] is not None:
            direction = peak["_dir"]
        else:
            direction = "up" if (y is not None and e is not None and y >= e) else "down"
        deviation = (y - e) / abs(e) if y is not None and e not in (None, 0) else None
        out.append(
            AnomalyWindow(
                series_id=peak["_id"],
                start=rows["_ds"].min(),  # type: ignore[arg-type]
                end=rows["_ds"].max(),  # type: ignore[arg-type]
                periods=rows.height,
                peak_ds=peak["_ds"],
                peak_score=float(peak["_score"]) if peak["_score"] is not None else float("nan"),
                direction=direction,
                peak_y=y,
                peak_expected=e,
                deviation=deviation,
                top_feature=peak["_top"],
            )
        )
    return out
