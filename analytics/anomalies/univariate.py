"""Univariate detection: a robust seasonal baseline, a robust noise scale, an expected range for
every point.

How a point is judged (per series; all series at once, as rows of one numpy matrix):

1. Scale: a series whose values are all > 0 is modelled on the log scale (effects are relative:
   a weekend is "-60%", a surge "+160%"); a series with zeros or negative values as it is.
2. Seasonal profiles, from medians only: a day-of-week profile (median per weekday of the
   detrended values) and, once a series spans two years, a yearly profile per calendar day
   (week, month, quarter) whose value is the one all years agree on (two years: 0 unless both
   deviate the same way, then the smaller; three or more: the median), smoothed over 5 days at
   daily grain. A one-off incident is never learned as a seasonal effect. Three passes
   alternate trend and profiles.
3. Baseline level: the median of the 14 periods on each side of the point, the point itself
   left out (`baseline="centred"`; 2 x 2 periods at monthly grain), continued along the recent
   slope where a window is cut short by the start or the end of the series; or the median of
   the 28 days before the point plus a local lag correction (`baseline="trailing"`).
4. Noise scale sigma: max(1.4826 x MAD, q90(|noise|) / 1.645) of the residuals around the centred
   level over three blocks around the point (90 days at daily grain, 24 months at monthly). The
   q90 term keeps sigma honest for discrete or heavy-tailed series (daily counts that are mostly
   0); a series that is constant except for a few points falls back to the mean absolute
   residual, and sigma never drops below 1e-6 of the series' typical value.
5. expected = level + profiles; score = |y - expected| / sigma on the modelled scale (a robust
   z-score); `is_anomaly` = score > k with k = 8 - 6 x sensitivity; lower, upper = expected -/+ k
   sigma, back on the series' scale (exp for log; lower clipped at 0 for a series that is never
   negative).
6. Warm-up: the first `warmup_periods(freq)` periods of a series (14 days, 4 weeks, 2 months, 2
   quarters, 2 years from its first observed value) are not scored: there the centred level has
   no past half and would be extrapolated backwards from later data (the demo's api_requests,
   whose first 5 days hold 1-5% of its level, was "down 98%" there). Their residuals do not shape
   the noise scale either. Rows come back with `warmup` True, `is_anomaly` False and null
   `expected`, `lower`, `upper`, `score`.
7. The end of a series (centred baseline): the last 14 levels are extrapolated from the last full
   window along the median slope before it; they are judged against the noise of the days before
   them (their own residuals are left out of sigma, so a recent shift cannot hide in the scale it
   inflates), widened by the error that extrapolation made on the series' own history
   (`_core._widen_at_the_end`). Measured on the planted synthetic series cut at 480 random days
   (`benchmarks/anomalies.py --quality`): recall on planted anomalous days among the last 3 days
   0.20 -> 0.41, benign days flagged in the last 14 days 1 of 6,355 -> 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl

from . import _core
from ._grid import (
    UID,
    AnomalyError,
    Grain,
    calendar_of,
    grain_of,
    grid_index,
    validate_series,
    warn_short,
)

DEFAULT_SENSITIVITY = 0.5
# k = 8 - 6 x sensitivity: 0 -> 8 sigma, 0.5 -> 5 sigma, 1 -> 2 sigma
K_AT_ZERO, K_AT_ONE = 8.0, 2.0
BATCH_SERIES = 2000
OUTPUT_COLUMNS = ("ds", "y", "expected", "lower", "upper", "score", "is_anomaly", "warmup")


def threshold_for(sensitivity: float) -> float:
    """The score above which a point is anomalous: k = 8 - 6 x sensitivity (sensitivity in [0, 1])."""
    try:
        s = float(sensitivity)
    except (TypeError, ValueError):
        s = math.nan
    if not 0.0 <= s <= 1.0:
        raise AnomalyError(
            f"sensitivity must be between 0 (flags least) and 1 (flags most), got {sensitivity!r}"
        )
    return K_AT_ZERO + (K_AT_ONE - K_AT_ZERO) * s


def detect(
    series: pl.DataFrame,
    sensitivity: float = DEFAULT_SENSITIVITY,
    *,
    freq: str = "D",
    seasonality: str | Sequence[str] | None = "auto",
    transform: str = "auto",
    baseline: str = "centred",
    min_points: int | None = None,
) -> pl.DataFrame:
    """Flag the points of one or many series that their own history does not explain.

    series: polars DataFrame with `ds` (Date or Datetime, at most one row per period), `y`
        (numeric; nulls allowed) and optionally `unique_id` for many series at once. Missing
        periods (gaps) are allowed: the model runs on the regular grid of the grain.
    sensitivity: 0..1, higher flags more. A point is anomalous when its score exceeds
        k = 8 - 6 x sensitivity (default 0.5 -> k = 5 robust sigmas; 1 -> 2; 0 -> 8).
    freq: grain of `ds`: "D" (default), "W", "M", "Q", "Y" (or day, week, month, quarter, year).
    seasonality: "auto" (a day-of-week profile at daily grain; a yearly profile once the series
        spans two years), None / "none", or a list of "weekly", "yearly" (forced on).
    transform: "auto" (log scale for a series whose values are all > 0, as is otherwise), "log",
        "none".
    baseline: "centred" (default): each point is compared with the weeks on both sides of it, so
        spikes, dips and bursts up to about two weeks long stand out while a lasting level shift
        becomes the new normal (a recent shift, less than two weeks old, is still flagged, as the
        end of a series has only its past). "trailing": each point is compared with the median of
        the 4 weeks before it (plus a local lag correction): level shifts are flagged for their
        first two weeks; the level uses only earlier data (the seasonal profiles, the lag
        correction and the noise scale are learned from the whole series).
    min_points: series with fewer observed values are not judged (default per grain: 28 days,
        16 weeks, 12 months, 8 quarters, 6 years): their rows come back with `is_anomaly` False,
        `warmup` True, `expected` = the series median, null `lower`/`upper`/`score`, and an `AnomalyWarning`
        names them.

    Returns one row per input row, sorted by (`unique_id`,) `ds`: `ds`, `y` (as float),
    `expected`, `lower`, `upper`, `score`, `is_anomaly`, `warmup` (and `unique_id` first when
    given). `warmup` rows are not scored (the series' first `warmup_periods(freq)` periods, and
    every row of a series too short to judge): `is_anomaly` False, null `score`, `lower`,
    `upper` and (outside too-short series) `expected`.
    `score` = |y - expected| / sigma on the modelled scale (log for positive series), a robust
    z-score: `is_anomaly` is `score > k`, the same as y outside [`lower`, `upper`]. Rows with a
    null `y` keep their expected range, with a null score and `is_anomaly` False.
    """
    k = threshold_for(sensitivity)
    grain = grain_of(freq)
    has_uid = isinstance(series, pl.DataFrame) and UID in series.columns
    validate_series(series, "ds", "y", UID if has_uid else None)
    options = Options.parse(grain, seasonality, transform, baseline, min_points)
    frame = series.select(
        (pl.col(UID) if has_uid else pl.lit("series")).alias(UID),
        pl.col("ds"),
        pl.col("y").cast(pl.Float64),
    )
    fitted, short = fit_frame(frame, grain, options)
    if short:
        warn_short(short if has_uid else ["series"], grain, options.min_points)
    k_sigma = k * pl.col("_sigma")
    lo, hi = pl.col("_ev") - k_sigma, pl.col("_ev") + k_sigma
    score = pl.col("_resid").abs() / pl.col("_sigma")
    out = fitted.select(
        UID, "ds", "y",
        pl.when(pl.col("_log")).then(pl.col("_ev").exp()).otherwise(pl.col("_ev")).alias("expected"),
        pl.when(pl.col("_log")).then(lo.exp()).when(pl.col("_nonneg") & (lo < 0)).then(0.0)
        .otherwise(lo).alias("lower"),
        pl.when(pl.col("_log")).then(hi.exp()).otherwise(hi).alias("upper"),
        score.alias("score"),
        (score > k).fill_null(False).alias("is_anomaly"),
        pl.col("_warmup").alias("warmup"),
    )  # fmt: skip
    return out.select(([UID] if has_uid else []) + list(OUTPUT_COLUMNS))


def detect_many(
    frame: pl.DataFrame,
    sensitivity: float = DEFAULT_SENSITIVITY,
    *,
    id_col: str = UID,
    ds_col: str = "ds",
    y_col: str = "y",
    **options: object,
) -> pl.DataFrame:
    """`detect` over a long frame of many series whose columns have other names (`id_col`,
    `ds_col`, `y_col`); the result uses the same names. Options as for `detect`."""
    validate_series(frame, ds_col, y_col, id_col)
    renamed = frame.select(
        pl.col(id_col).alias(UID), pl.col(ds_col).alias("ds"), pl.col(y_col).alias("y")
    )
    out = detect(renamed, sensitivity, **options)  # type: ignore[arg-type]
    return out.rename({UID: id_col, "ds": ds_col, "y": y_col})


@dataclass(frozen=True)
class Options:
    weekly: bool | None  # None: decided per series ("auto")
    yearly: bool | None
    transform: str
    baseline: str
    min_points: int

    @staticmethod
    def parse(
        grain: Grain,
        seasonality: str | Sequence[str] | None,
        transform: str,
        baseline: str,
        min_points: int | None,
    ) -> Options:
        if baseline not in ("centred", "trailing"):
            raise AnomalyError(f"baseline must be 'centred' or 'trailing', got {baseline!r}")
        if transform not in ("auto", "log", "none"):
            raise AnomalyError(f"transform must be 'auto', 'log' or 'none', got {transform!r}")
        if min_points is not None and (not isinstance(min_points, int) or min_points < 3):
            raise AnomalyError(f"min_points must be an integer >= 3, got {min_points!r}")
        weekly: bool | None
        yearly: bool | None
        if seasonality == "auto":
            weekly, yearly = (
                (None if grain.weekly else False),
                (None if grain.name != "Y" else False),
            )
        elif seasonality is None or seasonality == "none":
            weekly, yearly = False, False
        else:
            names = [seasonality] if isinstance(seasonality, str) else list(seasonality)
            unknown = [n for n in names if n not in ("weekly", "yearly")]
            if unknown:
                raise AnomalyError(
                    f"unknown seasonality {unknown}: use 'auto', 'none' or a list of 'weekly', 'yearly'"
                )
            if "weekly" in names and not grain.weekly:
                raise AnomalyError(
                    f"a weekly (day-of-week) profile needs daily data, not freq {grain.name!r}"
                )
            if "yearly" in names and grain.name == "Y":
                raise AnomalyError("a yearly profile needs data finer than one value per year")
            weekly, yearly = "weekly" in names, "yearly" in names
        return Options(
            weekly,
            yearly,
            transform,
            baseline,
            grain.min_points if min_points is None else min_points,
        )


def fit_frame(
    frame: pl.DataFrame, grain: Grain, options: Options
) -> tuple[pl.DataFrame, list[object]]:
    """frame: `unique_id`, `ds`, `y` (Float64). Returns every input row, sorted by (`unique_id`,
    `ds`), with `_row` (its position in `frame`), `_ev` (expected on the modelled scale),
    `_sigma`, `_resid`, `_log`, `_nonneg`, `_warmup` (not scored: `_ev`, `_sigma`, `_resid` null),
    and the ids of the series too short to judge (all their rows `_warmup`; their `_ev` is their
    median)."""
    frame = frame.with_columns(
        pl.when(pl.col("y").is_finite()).then(pl.col("y")).alias("y"),  # NaN / inf count as missing
        grid_index(pl.col("ds"), grain).alias("_t"),
        pl.int_range(pl.len(), dtype=pl.Int64).alias("_row"),
    ).sort(UID, "_t")
    n_rows = frame.height
    t = frame["_t"].to_numpy().astype(np.int64)
    y = frame["y"].to_numpy().astype(np.float64)
    new = np.ones(n_rows, dtype=bool)
    if n_rows:
        new[1:] = (frame[UID] != frame[UID].shift(1)).fill_null(True).to_numpy()[1:]
    g = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n_rows)
    _check_unique(frame, g, t, grain)
    observed = np.isfinite(y)
    n_obs = np.bincount(g, weights=observed, minlength=len(starts)).astype(np.int64)
    ymin = np.minimum.reduceat(np.where(observed, y, np.inf), starts) if n_rows else np.zeros(0)
    if options.transform == "log" and (ymin <= 0).any():
        bad = int(np.flatnonzero(observed & (y <= 0))[0])
        raise AnomalyError(
            f"transform='log' needs values > 0; series {frame[UID][bad]!r} has {y[bad]} at {frame['ds'][bad]}"
        )
    span = t[ends - 1] - t[starts] + 1 if n_rows else np.zeros(0, dtype=np.int64)
    # not judged: too few values, or values in fewer than a third of the periods (wrong freq?)
    short = (n_obs < options.min_points) | (n_obs * 3 < span)
    log = (
        (ymin > 0) & np.isfinite(ymin)
        if options.transform == "auto"
        else np.full(len(starts), options.transform == "log")
    )
    log &= ~short
    nonneg = ymin >= 0
    # warm-up: the first periods after a series' first observed value are not scored
    t_first = (
        np.minimum.reduceat(np.where(observed, t, np.iinfo(np.int64).max), starts)
        if n_rows
        else np.zeros(0, dtype=np.int64)
    )
    warm = short[g] | (t - t_first[g] < grain.warmup)
    ev = np.full(n_rows, np.nan)
    sigma = np.full(n_rows, np.nan)
    resid = np.full(n_rows, np.nan)
    # series are independent: fit them in batches to bound memory (a few matrices of
    # batch x span floats)
    judged_all = np.flatnonzero(~short)
    for b in range(0, judged_all.size, BATCH_SERIES):
        judged = judged_all[b : b + BATCH_SERIES]
        code = np.full(len(starts), -1)
        code[judged] = np.arange(judged.size)
        sel = code[g] >= 0
        j = code[g[sel]]
        t0, t1 = t[starts[judged]], t[ends[judged] - 1]
        # daily rows start on a Monday, so that column % 7 is the weekday in every row
        t0a = t0 - (t0 % 7) if grain.name == "D" else t0
        c = t[sel] - t0a[j]
        fit = _fit_matrix(j, c, y[sel], t0, t1, t0a, log[judged], nonneg[judged], grain, options)
        ev[sel], sigma[sel], resid[sel] = fit.expected[j, c], fit.sigma[j, c], fit.resid[j, c]
    ev[warm], sigma[warm], resid[warm] = np.nan, np.nan, np.nan
    short_ids: list[object] = []
    if short.any():
        medians = (
            frame.select(pl.col("y").median().over(UID).alias("m"))["m"]
            .to_numpy()
            .astype(np.float64)
        )
        ev = np.where(short[g], medians, ev)
        short_ids = frame[UID].gather(starts[short]).to_list()
    out = frame.select(UID, "ds", "y", "_row").with_columns(
        pl.Series("_ev", ev, nan_to_null=True),
        pl.Series("_sigma", sigma, nan_to_null=True),
        pl.Series("_resid", resid, nan_to_null=True),
        pl.Series("_log", log[g]),
        pl.Series("_nonneg", nonneg[g]),
        pl.Series("_warmup", warm),
    )
    return out, short_ids


def _check_unique(frame: pl.DataFrame, g: np.ndarray, t: np.ndarray, grain: Grain) -> None:
    """Two rows of one series in one period are ambiguous (rows are sorted by series, period)."""
    dup = np.flatnonzero((g[1:] == g[:-1]) & (t[1:] == t[:-1]))
    if dup.size:
        i = int(dup[0]) + 1
        raise AnomalyError(
            f"series {frame[UID][i]!r} has more than one row in the {grain.name} period of {frame['ds'][i]}: "
            "aggregate to one row per period first (or pass the matching freq)"
        )


def _fit_matrix(
    j: np.ndarray,
    c: np.ndarray,
    y: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
    t0a: np.ndarray,
    log: np.ndarray,
    nonneg: np.ndarray,
    grain: Grain,
    options: Options,
) -> _core.Fit:
    """Lay the judged series out as rows of a matrix (row j, column c; NaN where no value) and fit."""
    n = len(t0)
    length = int((t1 - t0a).max()) + 1
    v = np.full((n, length), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        v[j, c] = np.where(log[j], np.log(y), y)
    weekly = np.full(n, grain.weekly if options.weekly is None else options.weekly)
    yearly = (
        (t1 - t0 + 1 >= grain.yearly_span) if options.yearly is None else np.full(n, options.yearly)
    )
    cal = _calendar(t0a, length, grain)
    return _core.fit(v, cal, grain, weekly, yearly, ~log & nonneg, options.baseline)


def _calendar(t0a: np.ndarray, length: int, grain: Grain) -> _core.Calendar:
    lo, hi = int(t0a.min()), int(t0a.max()) + length
    year_e, key_e, cycle = calendar_of(pl.col("_t"), grain)
    cal = pl.DataFrame({"_t": np.arange(lo, hi, dtype=np.int64)}).select(
        year_e.alias("y"), key_e.alias("k")
    )
    years = cal["y"].to_numpy().astype(np.int64)
    keys = cal["k"].to_numpy().astype(np.int64)
    idx = t0a[:, None] - lo + np.arange(length)[None, :]
    return _core.Calendar(
        weekday=np.arange(length) % 7, year=years[idx] - years.min(), key=keys[idx], cycle=cycle
    )
