"""Shared plumbing: errors, time grains, input validation and the regular time grid."""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import dataclass

import polars as pl

UID = "unique_id"
_EPOCH = dt.date(1970, 1, 5)  # a Monday: weekly grid positions start on Mondays


class AnomalyError(ValueError):
    """The input cannot be analysed as asked (missing columns, duplicate periods, bad knobs)."""


class AnomalyWarning(UserWarning):
    """Some series were too short to judge: their rows come back with `is_anomaly` False."""


@dataclass(frozen=True)
class Grain:
    """How one time grain is modelled (all lengths in periods of the grain).

    trend: window of the centred rolling median (the baseline level, and the detrending used to
        learn the seasonal profiles).
    block: the trailing window of `baseline="trailing"`.
    scale_block: the residual scale is measured over three such blocks centred on each block.
    min_points: fewer observed values than this and a series is not judged.
    yearly_span: periods of history needed before `seasonality="auto"` learns a yearly profile.
    warmup: the first periods of every series that are not scored (see `warmup_periods`).
    """

    name: str
    trend: int
    block: int
    scale_block: int
    min_points: int
    yearly_span: int
    weekly: bool  # a day-of-week profile exists at this grain

    @property
    def warmup(self) -> int:
        # the centred trend window's past half (before it the level would be a backward
        # extrapolation from later data: a guess from the future, not history); the trailing
        # baseline's minimum count (block // 2) and, at daily grain, two weekly cycles equal it
        return max(self.trend // 2, self.block // 2, 14 if self.weekly else 0)


GRAINS: dict[str, Grain] = {
    "D": Grain(
        "D", trend=29, block=28, scale_block=30, min_points=28, yearly_span=730, weekly=True
    ),
    "W": Grain("W", trend=9, block=8, scale_block=9, min_points=16, yearly_span=104, weekly=False),
    "M": Grain("M", trend=5, block=3, scale_block=8, min_points=12, yearly_span=24, weekly=False),
    "Q": Grain("Q", trend=5, block=2, scale_block=4, min_points=8, yearly_span=8, weekly=False),
    "Y": Grain("Y", trend=5, block=2, scale_block=4, min_points=6, yearly_span=10**9, weekly=False),
}
_ALIASES = {
    "d": "D", "day": "D", "1d": "D", "daily": "D",
    "w": "W", "week": "W", "1w": "W", "weekly": "W",
    "m": "M", "ms": "M", "month": "M", "1mo": "M", "monthly": "M",
    "q": "Q", "qs": "Q", "quarter": "Q", "1q": "Q", "quarterly": "Q",
    "y": "Y", "ys": "Y", "a": "Y", "year": "Y", "1y": "Y", "yearly": "Y",
}  # fmt: skip


def grain_of(freq: str) -> Grain:
    key = _ALIASES.get(str(freq).strip().lower())
    if key is None:
        raise AnomalyError(
            f"unknown freq {freq!r}: use one of D, W, M, Q, Y (or day, week, month, quarter, year)"
        )
    return GRAINS[key]


def warmup_periods(freq: str = "D") -> int:
    """How many periods of history a series needs before its points are scored: its first
    `warmup_periods(freq)` periods (counted from its first observed value) come back with
    `warmup` True, `is_anomaly` False and no expected value, range or score. 14 days (the trend
    window's past half and two weekly cycles), 4 weeks, 2 months, 2 quarters, 2 years."""
    return grain_of(freq).warmup


def grid_index(ds: pl.Expr, grain: Grain) -> pl.Expr:
    """Absolute position of a period on the grain's grid (one integer per day, week, month...)."""
    d = ds.cast(pl.Date)
    if grain.name == "D":
        return (d - pl.lit(_EPOCH)).dt.total_days().cast(pl.Int64)
    if grain.name == "W":
        return (d - pl.lit(_EPOCH)).dt.total_days().cast(pl.Int64) // 7
    months = d.dt.year().cast(pl.Int64) * 12 + d.dt.month().cast(pl.Int64) - 1
    if grain.name == "M":
        return months
    if grain.name == "Q":
        return months // 3
    return d.dt.year().cast(pl.Int64)


def grid_date(t: pl.Expr, grain: Grain) -> pl.Expr:
    """The first day of grid position `t` (inverse of `grid_index`)."""
    if grain.name == "D":
        return pl.lit(_EPOCH) + pl.duration(days=t)
    if grain.name == "W":
        return pl.lit(_EPOCH) + pl.duration(days=t * 7)
    if grain.name == "M":
        return pl.date(t // 12, t % 12 + 1, 1)
    if grain.name == "Q":
        return pl.date(t // 4, (t % 4) * 3 + 1, 1)
    return pl.date(t, 1, 1)


def calendar_of(t: pl.Expr, grain: Grain) -> tuple[pl.Expr, pl.Expr, int]:
    """(year, position in the year from 0, positions per year) of grid position `t`. Days use a
    leap-year calendar (Feb 29 is its own position, so Mar 1 is always 60); weeks use ISO years."""
    d = grid_date(t, grain)
    if grain.name == "D":
        late = (d.dt.month() >= 3) & ~d.dt.is_leap_year()
        return d.dt.year(), d.dt.ordinal_day().cast(pl.Int64) - 1 + late.cast(pl.Int64), 366
    if grain.name == "W":
        return d.dt.iso_year(), d.dt.week().cast(pl.Int64) - 1, 53
    if grain.name == "M":
        return d.dt.year(), d.dt.month().cast(pl.Int64) - 1, 12
    if grain.name == "Q":
        return d.dt.year(), d.dt.quarter().cast(pl.Int64) - 1, 4
    return d.dt.year(), pl.lit(0, pl.Int64), 1


def validate_series(series: pl.DataFrame, ds: str, y: str, uid: str | None) -> None:
    if not isinstance(series, pl.DataFrame):
        raise AnomalyError(f"series must be a polars DataFrame, got {type(series).__name__}")
    missing = [c for c in (ds, y, uid) if c is not None and c not in series.columns]
    if missing:
        raise AnomalyError(f"series is missing column(s) {missing}; it has {series.columns}")
    if not (series.schema[ds] == pl.Date or isinstance(series.schema[ds], pl.Datetime)):
        raise AnomalyError(f"column {ds!r} must be a Date or Datetime, got {series.schema[ds]}")
    if not series.schema[y].is_numeric():
        raise AnomalyError(f"column {y!r} must be numeric, got {series.schema[y]}")
    if uid is not None and series[uid].null_count():
        raise AnomalyError(f"column {uid!r} has {series[uid].null_count()} null value(s)")
    if series[ds].null_count():
        raise AnomalyError(f"column {ds!r} has {series[ds].null_count()} null value(s)")


def warn_short(short: list[object], grain: Grain, min_points: int, noun: str = "series") -> None:
    if not short:
        return
    shown = ", ".join(repr(s) for s in short[:5]) + (
        f" and {len(short) - 5} more" if len(short) > 5 else ""
    )
    warnings.warn(
        f"{len(short)} {noun} not judged (is_anomaly False, expected = their median, no range or score): "
        f"fewer than {min_points} observed values, or values in fewer than a third of their {grain.name} "
        f"periods (is freq right?): {shown}",
        AnomalyWarning,
        stacklevel=3,
    )
