"""Model runners. Each takes a validated panel frame (`unique_id`, `ds`, `y`, `idx`, `n`, all
series regular and gap-free) and returns `unique_id`, `step` (1..h), `yhat`, `yhat_lower`,
`yhat_upper`. Which runner a series gets, and the edge-case routing, is `core.py`'s business."""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from statistics import NormalDist

import numpy as np
import polars as pl

from . import _ensemble, _fast_ets
from ._panel import UID

OUT_SCHEMA = {UID: pl.String, "step": pl.Int64, "yhat": pl.Float64, "yhat_lower": pl.Float64, "yhat_upper": pl.Float64}


def effective_season(n: pl.Expr | int, m: int) -> pl.Expr:
    """Seasonal models need two full seasons of history; shorter series are fitted without."""
    n_expr = pl.lit(n) if isinstance(n, int) else n
    return pl.when(n_expr >= 2 * m).then(pl.lit(m)).otherwise(pl.lit(1))


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=OUT_SCHEMA)


# statsforecast starts a process pool per call when n_jobs > 1: worth it only for many series
N_JOBS = max(1, min(2, os.cpu_count() or 1))
POOL_MIN_SERIES = 50


def run_statsforecast(data: pl.DataFrame, method: str, h: int, m: int, level: float) -> pl.DataFrame:
    """statsforecast AutoETS / AutoARIMA (SeasonalNaive / Naive also work here), `n_jobs` = the
    machine's cores (at most 2) from POOL_MIN_SERIES series up, else 1, an
    integer time index (the calendar stays ours), series grouped by their effective season length;
    a model that fails on a series falls back to the seasonal naive forecast."""
    from statsforecast import StatsForecast
    from statsforecast.models import AutoARIMA, AutoETS, Naive, SeasonalNaive

    def model_for(season: int):  # type: ignore[no-untyped-def]
        if method == "ets":
            return AutoETS(season_length=season, alias="model")
        if method == "arima":
            return AutoARIMA(season_length=season, alias="model")
        if method == "seasonal_naive" and season > 1:
            return SeasonalNaive(season_length=season, alias="model")
        return Naive(alias="model")

    parts = []
    frame = data.with_columns(effective_season(pl.col("n"), m).alias("_m"))
    for (season,), group in frame.group_by("_m"):
        fallback = SeasonalNaive(season_length=int(season)) if season > 1 else Naive()
        jobs = N_JOBS if group.get_column(UID).n_unique() >= POOL_MIN_SERIES else 1
        sf = StatsForecast(models=[model_for(int(season))], freq=1, n_jobs=jobs, fallback_model=fallback)
        res = sf.forecast(df=group.select(UID, pl.col("idx").alias("ds"), "y"), h=h, level=[level])
        lo = next(c for c in res.columns if c.startswith("model-lo-"))
        hi = next(c for c in res.columns if c.startswith("model-hi-"))
        lengths = group.group_by(UID).agg(pl.col("n").first())
        parts.append(res.join(lengths, on=UID).select(
            pl.col(UID).cast(pl.String), (pl.col("ds") - pl.col("n") + 1).cast(pl.Int64).alias("step"),
            pl.col("model").alias("yhat"), pl.col(lo).alias("yhat_lower"), pl.col(hi).alias("yhat_upper"),
        ))  # fmt: skip
    return pl.concat(parts).cast(OUT_SCHEMA) if parts else _empty()


def _matrix(data: pl.DataFrame) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """Series ids, lengths and an (N, T) matrix with each series right-aligned (NaN before it starts)."""
    lengths = data.group_by(UID, maintain_order=True).agg(pl.col("n").first()).sort(UID)
    uids = lengths.get_column(UID)
    n = lengths.get_column("n").to_numpy()
    T = int(n.max())
    rows = data.sort(UID, "idx").join(lengths.with_row_index("_row"), on=UID).select(
        "_row", (pl.lit(T) - pl.col("n") + pl.col("idx")).alias("_col"), "y"
    )
    Y = np.full((len(uids), T), np.nan)
    Y[rows.get_column("_row").to_numpy(), rows.get_column("_col").to_numpy()] = rows.get_column("y").to_numpy()
    return uids, n, Y


def _frame(uids: pl.Series, h: int, mean: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> pl.DataFrame:
    return pl.DataFrame({
        UID: np.repeat(uids.to_numpy(), h), "step": np.tile(np.arange(1, h + 1), len(uids)),
        "yhat": mean.ravel(), "yhat_lower": lower.ravel(), "yhat_upper": upper.ravel(),
    }).cast(OUT_SCHEMA)  # fmt: skip


def run_fast_ets(data: pl.DataFrame, method: str, h: int, m: int, level: float) -> pl.DataFrame:
    """The vectorised seasonal damped-trend ETS (`_fast_ets.ets`) alone, normal intervals from its
    variance formula (not calibrated: the `ensemble` is the calibrated path)."""
    del method
    uids, n, Y = _matrix(data)
    seasonal = n >= 2 * m
    idx, mult = _fast_ets.decompose(Y, m, seasonal, np.nanmin(Y, axis=1) > 0)
    fit = _fast_ets.ets(Y, n, h, m, idx, mult)
    half = NormalDist().inv_cdf(0.5 + level / 200.0) * fit.sigma[:, None] * np.sqrt(fit.var_factor)
    return _frame(uids, h, fit.mean, fit.mean - half, fit.mean + half)


def run_theta(data: pl.DataFrame, method: str, h: int, m: int, level: float) -> pl.DataFrame:
    """The vectorised standard Theta method alone (seasonally adjusted when the lag-m autocorrelation
    is significant), with plain random-walk-width normal intervals from the adjusted series' one-step
    differences (not calibrated: the `ensemble` is the calibrated path)."""
    del method
    uids, n, Y = _matrix(data)
    positive = np.nanmin(Y, axis=1) > 0
    idx, mult = _fast_ets.decompose(Y, m, _fast_ets.seasonal_test(Y, n, m), positive)
    adjusted = _fast_ets.adjust(Y, idx, mult)
    mean = _fast_ets.reseasonalise(_fast_ets.theta(adjusted, n, h), idx, mult)
    diffs = np.diff(adjusted, axis=1)
    sigma = np.sqrt(np.nanmean(diffs**2, axis=1))  # one-step naive error scale of the adjusted series
    k = np.arange(1, h + 1)[None, :]
    half = NormalDist().inv_cdf(0.5 + level / 200.0) * sigma[:, None] * np.sqrt(k)
    return _frame(uids, h, mean, mean - half, mean + half)


def run_ensemble(data: pl.DataFrame, method: str, h: int, m: int, level: float) -> pl.DataFrame:
    """The calibrated combination (`_ensemble.py`): every series of the panel at once."""
    del method
    uids, n, Y = _matrix(data)
    return _frame(uids, h, *_ensemble.ensemble(Y, n, h, m, level))


def run_seasonal_naive(data: pl.DataFrame, method: str, h: int, m: int, level: float) -> pl.DataFrame:
    """Seasonal naive (lag m; naive, lag 1, for `naive` or a series without two seasons), vectorised
    over the panel with statsforecast's SeasonalNaive/Naive formulas (pinned by a test): the value
    one season back, sigma = sqrt(sum of squared in-sample seasonal differences / (n - lag)),
    interval half-width z x sigma x sqrt(1 + full seasons ahead). statsforecast itself builds a
    scipy distribution per series for the intervals: ~1 ms each, the bulk of a many-series
    backtest."""
    uids, n, Y = _matrix(data)
    lag = np.where((n >= 2 * m) & (method == "seasonal_naive"), m, 1) if m > 1 else np.ones(len(n), int)
    N, T = Y.shape
    rows = np.arange(N)[:, None]
    k = np.arange(h)[None, :]
    mean = Y[rows, T - lag[:, None] + k % lag[:, None]]
    sigma = np.empty(N)
    for value in np.unique(lag):
        sel = lag == value
        diffs = Y[sel, value:] - Y[sel, :-value]
        sigma[sel] = np.sqrt(np.nansum(diffs**2, axis=1) / np.maximum(n[sel] - value, 1))
    half = NormalDist().inv_cdf(0.5 + level / 200.0) * sigma[:, None] * np.sqrt(k // lag[:, None] + 1)
    return _frame(uids, h, mean, mean - half, mean + half)


def prophet_settings(freq: str, n: int, span_days: int) -> dict[str, object]:
    """Prophet's seasonalities by frequency and history: weekly for daily series with two weeks
    of history; yearly once two full years are present (Prophet's own rule), with Fourier order 3
    for monthly data (12 points a year; order 5 and up leaves Stan's optimiser wandering for ~10 s
    on 2-3 years of months). At most one trend changepoint per 4 observations (Prophet's 25 on a
    few dozen months is as ill-conditioned)."""
    yearly: bool | int = span_days >= 730
    if freq in ("MS", "ME"):
        yearly = 3 if n >= 25 else False
    elif freq not in ("D", "W"):  # quarterly / yearly: yearly seasonality only with enough years
        yearly = 2 if freq.startswith("Q") and n >= 9 else False
    return {
        "weekly_seasonality": freq == "D" and n >= 14,
        "yearly_seasonality": yearly,
        "daily_seasonality": False,
        "n_changepoints": min(25, max(1, n // 4)),
    }


def run_prophet(data: pl.DataFrame, method: str, h: int, m: int, level: float, *, freq: str = "D") -> pl.DataFrame:
    """Prophet, one fit per series (headline series). Multiplicative seasonality when the series
    is strictly positive (growing business series scale their weekly pattern with the level),
    additive otherwise. Interval sampling is seeded, so results are deterministic."""
    del method, m
    import pandas as pd
    from cmdstanpy import disable_logging

    plot_log = logging.getLogger("prophet.plot")  # "Importing plotly failed": irrelevant here
    disabled, plot_log.disabled = plot_log.disabled, True
    try:
        from prophet import Prophet
    finally:
        plot_log.disabled = disabled

    parts = []
    for (uid,), group in data.sort(UID, "idx").group_by(UID, maintain_order=True):
        ds = group.get_column("ds")
        y = group.get_column("y")
        span = (ds[-1] - ds[0]).days
        history = pd.DataFrame({"ds": pd.to_datetime(ds.to_numpy()), "y": y.to_numpy()})
        every = {"D": "D", "W": "7D"}.get(freq, freq)  # pandas aliases: MS, ME, QS, QE, YS, YE
        future = pd.DataFrame({"ds": pd.date_range(history["ds"].iloc[-1], periods=h + 1, freq=every)[1:]})
        mode = "multiplicative" if float(y.min()) > 0 else "additive"
        model = Prophet(interval_width=level / 100.0, seasonality_mode=mode, uncertainty_samples=500,
                        **prophet_settings(freq, len(y), span))  # type: ignore[arg-type]  # fmt: skip
        state = np.random.get_state()
        try:
            np.random.seed(0)
            with warnings.catch_warnings(), disable_logging():  # Stan's per-fit chatter
                warnings.simplefilter("ignore")
                model.fit(history)
                pred = model.predict(future)
        finally:
            np.random.set_state(state)
        parts.append(pl.DataFrame({
            UID: [uid] * h, "step": np.arange(1, h + 1), "yhat": pred["yhat"].to_numpy(),
            "yhat_lower": pred["yhat_lower"].to_numpy(), "yhat_upper": pred["yhat_upper"].to_numpy(),
        }).cast(OUT_SCHEMA))  # fmt: skip
    return pl.concat(parts) if parts else _empty()


def constant(data: pl.DataFrame, h: int) -> pl.DataFrame:
    """A constant history forecasts itself, with zero-width intervals."""
    last = data.group_by(UID).agg(pl.col("y").last())
    return last.join(pl.DataFrame({"step": np.arange(1, h + 1)}), how="cross").select(
        pl.col(UID), "step", pl.col("y").alias("yhat"), pl.col("y").alias("yhat_lower"), pl.col("y").alias("yhat_upper"),
    ).cast(OUT_SCHEMA)  # fmt: skip


RUNNERS: dict[str, Callable[..., pl.DataFrame]] = {
    "ets": run_statsforecast,
    "arima": run_statsforecast,
    "seasonal_naive": run_seasonal_naive,
    "naive": run_seasonal_naive,
    "fast_ets": run_fast_ets,
    "theta": run_theta,
    "ensemble": run_ensemble,
    "prophet": run_prophet,
}


def run(method: str, data: pl.DataFrame, h: int, m: int, level: float, freq: str) -> pl.DataFrame:
    if data.height == 0:
        return _empty()
    if method == "prophet":
        return run_prophet(data, method, h, m, level, freq=freq)
    return RUNNERS[method](data, method, h, m, level)
