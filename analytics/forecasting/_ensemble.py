"""The combination forecast (`ensemble`, what `auto` uses) and its calibrated intervals.

Point forecast: the equal-weight mean of four fast members, each fitted to every series at once
(`_fast_ets.py`): seasonal naive, Theta on the seasonally adjusted series, the best seasonal
damped-trend ETS and the best ETS restricted to a damped trend (phi < 1). Combining several simple
methods beats any one of them on the M1/M3/M4/tourism competitions (Makridakis et al.;
Petropoulos & Svetunkov 2020); measured here on the M1 and tourism monthly series against
statsforecast AutoETS (`benchmarks/forecasting_public.py`). The combination is fixed: choosing a
member per series on a short backtest was measured to add noise.

Intervals: the combination has no likelihood of its own, so its interval is the ETS member's
standard error (sigma x sqrt(var_factor)) scaled by multipliers calibrated on a rolling-origin
backtest of the same combination (split-conformal style): the lower and upper quantiles of the
signed (actual - forecast) / standard error over the held-out points of every series in the call
(the most recent window of the horizon, then up to two older ones until at least 50 points are
held out; at most CALIBRATION_SERIES series of a panel). The multipliers are shared by the panel: scale-free ratios pool across series, which a
single short series needs. Measured coverage of the nominal 80%: see core.py's docstring.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from . import _fast_ets as fe

MIN_TRAIN = 10  # the fitted-model minimum (_panel.MIN_FIT_POINTS)
CALIBRATION_POINTS = 50
MAX_CALIBRATION_WINDOWS = 3
# a larger panel is calibrated on this many evenly spaced series (thousands of held-out points):
# the backtest fit then costs at most this much, not a second full fit
CALIBRATION_SERIES = 150


def members(Y: np.ndarray, n: np.ndarray, h: int, m: int) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Member point forecasts (N, h) by name and the ETS member's standard error (N, h)."""
    positive = np.nanmin(Y, axis=1) > 0
    seasonal = fe.seasonal_test(Y, n, m)
    idx, mult = fe.decompose(Y, m, seasonal, positive)
    theta = fe.reseasonalise(fe.theta(fe.adjust(Y, idx, mult), n, h), idx, mult)
    full_idx, full_mult = fe.decompose(Y, m, n >= 2 * m, positive)
    fit = fe.ets(Y, n, h, m, full_idx, full_mult)
    naive = fe.seasonal_naive(Y, n, h, m)
    if m > 1:
        # seasonal naive joins only where there is a season to repeat: a series without two
        # seasons or without significant seasonality (the Theta test above) would get last
        # year's level, or the last value, which drags a trending series' mean down (the demo's
        # 24-month MRR: a 9% fall forecast for the next month), as the M4 'Comb' benchmark
        # leaves it out of non-seasonal series
        naive[~(seasonal & (n >= 2 * m))] = np.nan
    out = {"seasonal_naive": naive, "theta": theta, "ets": fit.mean, "ets_damped": fit.mean_damped}
    return out, fit.sigma[:, None] * np.sqrt(fit.var_factor)


def combine(Y: np.ndarray, n: np.ndarray, h: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """The combination's point forecast and standard error (uncalibrated): the mean of the
    members that apply to each series (seasonal naive only where it has a season, `members`)."""
    forecasts, se = members(Y, n, h, m)
    stacked = np.stack([forecasts[k] for k in ("seasonal_naive", "theta", "ets", "ets_damped")])
    return np.nanmean(stacked, axis=0), se


def calibration(Y: np.ndarray, n: np.ndarray, h: int, m: int, level: float) -> tuple[float, float, int]:
    """Lower and upper interval multipliers of the standard error (replacing -z and +z) and the
    number of held-out points they rest on: the (1 - level)/2 and (1 + level)/2 quantiles of the
    signed standardised errors (actual - forecast) / se, with the split-conformal finite-sample
    correction. Signed, so a combination that lags a growing series gets a wider upper side.
    Falls back to -z, +z when no series can hold a window above MIN_TRAIN observations."""
    z = NormalDist().inv_cdf(0.5 + level / 200.0)
    if Y.shape[0] > CALIBRATION_SERIES:
        rows = np.linspace(0, Y.shape[0] - 1, CALIBRATION_SERIES).round().astype(int)
        Y, n = Y[rows], n[rows]
    hc = max(1, min(h, int(n.max()) - MIN_TRAIN))
    ratios: list[np.ndarray] = []
    count = 0
    T = Y.shape[1]
    for k in range(1, MAX_CALIBRATION_WINDOWS + 1):
        cut = k * hc
        keep = n - cut >= MIN_TRAIN
        if not keep.any():
            break
        mean, se = combine(Y[keep, : T - cut], n[keep] - cut, hc, m)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (Y[keep, T - cut : T - cut + hc] - mean) / se
        r = r[np.isfinite(r)]
        ratios.append(r)
        count += r.size
        if count >= CALIBRATION_POINTS:
            break
    if count == 0:
        return -z, z, 0
    pooled = np.concatenate(ratios)
    tail = (1 - level / 100.0) / 2
    lo_q = max(0.0, math.floor((count + 1) * tail) / count)
    hi_q = min(1.0, math.ceil((count + 1) * (1 - tail)) / count)
    lower = float(np.quantile(pooled, lo_q, method="lower"))
    upper = float(np.quantile(pooled, hi_q, method="higher"))
    if count < CALIBRATION_POINTS:
        # a handful of held-out errors (one short series: 6-12 points for 24 months) cannot say
        # the model's own interval is too wide, only that it is too narrow: never narrower than
        # +-z (the demo's 24-month MRR: 80% coverage 42% -> see core.py)
        lower, upper = min(lower, -z), max(upper, z)
    return min(lower, 0.0), max(upper, 0.0), count


def ensemble(Y: np.ndarray, n: np.ndarray, h: int, m: int, level: float
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Mean, lower and upper (N, h) of the calibrated combination."""
    mean, se = combine(Y, n, h, m)
    lower, upper, _ = calibration(Y, n, h, m, level)
    return mean, mean + lower * se, mean + upper * se
