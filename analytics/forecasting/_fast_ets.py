"""Vectorised exponential smoothing and Theta: every series of a panel fitted at once with numpy.

Why hand-written: statsforecast fits one series at a time in C++; on this machine its AutoETS
costs ~70 ms CPU per M1 monthly series and ~180 ms per tourism monthly series (a 30-model search),
a single fixed ETS(A,Ad,A) 8-25 ms and its Theta 2-8 ms: a combination of its models cannot reach
200 series/s on 2 cores. These functions run the same model equations over a whole (N, T) panel
(series right-aligned, NaN before each start) in one pass; `benchmarks/forecasting_public.py`
measures them against statsforecast on the M1 and tourism monthly series, and a test pins the
Theta forecast to statsforecast's.

- `seasonal_test`: statsforecast's (and the M4 benchmarks') 90% one-sided test on the lag-m
  autocorrelation; `decompose`: classical decomposition (centred 2 x m moving average), seasonal
  indices by phase, multiplicative for strictly positive series unless an index falls below 0.01.
- `ets`: damped-trend exponential smoothing with additive or multiplicative seasonal states,
  ETS(A,Ad,A) / ETS(A,Ad,M) in error-correction form, with (alpha, beta, phi, gamma) chosen per
  series from a fixed grid by the smallest in-sample sum of squared one-step errors (a grid
  instead of Nelder-Mead: parameter estimation, not model selection). The seasonal states start
  from the classical indices; beta = 0 is no trend.
- `theta`: the standard Theta method (Assimakopoulos & Nikolopoulos 2000) as SES with drift
  (Hyndman & Billah 2003): l_n + b0/2 (k - 1 + 1/alpha - (1 - alpha)^n / alpha), b0 the OLS
  slope, on the seasonally adjusted series.

Deterministic. Cost grows with series x length x grid size (238 points).
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

Z90 = 1.6448536269514722  # one-sided 95% normal quantile: the 90% two-sided seasonality test
_ALPHAS = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
_TRENDS = ((0.0, 1.0),) + tuple((beta, phi) for beta in (0.01, 0.05, 0.15) for phi in (0.8, 0.9, 0.98, 1.0))
_GAMMAS = (0.0, 0.1, 0.3)  # gamma 0.02 was picked for 3% of M1 and no tourism series
_CHUNK = 256
# numpy ufuncs release the GIL: two threads over chunks of series use both cores of this machine
_THREADS = max(1, min(2, os.cpu_count() or 1))


def _grid() -> np.ndarray:
    rows = [(a, b, p, g) for a in _ALPHAS for b, p in _TRENDS for g in _GAMMAS if b <= a and g <= 1 - a]
    return np.array(rows, dtype=float)


GRID = _grid()  # (G, 4): alpha, beta, phi, gamma


def backward_phase(T: int, m: int) -> np.ndarray:
    """Season position of each column, counted back from the last one ((T-1-c) mod m): right-aligned
    series share it, so column c is the same season for every series."""
    return (T - 1 - np.arange(T)) % m


def seasonal_test(Y: np.ndarray, n: np.ndarray, m: int) -> np.ndarray:
    """(N,) True where the lag-m autocorrelation is significant at 90% (and n >= 2m, m >= 4)."""
    N, T = Y.shape
    if m < 4 or T < 2 * m:
        return np.zeros(N, bool)
    mu = np.nanmean(Y, axis=1, keepdims=True)
    Zc = np.nan_to_num(Y - mu)
    den = (Zc * Zc).sum(1)
    den = np.where(den > 0, den, 1.0)
    r = np.stack([(Zc[:, k:] * Zc[:, : T - k]).sum(1) for k in range(1, m + 1)], 1) / den[:, None]
    stat = np.sqrt((1 + 2 * (r[:, :-1] ** 2).sum(1)) / n)
    return (np.abs(r[:, -1]) / stat > Z90) & (n >= 2 * m)


def decompose(Y: np.ndarray, m: int, seasonal: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Classical decomposition: (N, m) seasonal indices by backward phase and (N,) multiplicative
    flag. Rows that are not `seasonal` get neutral indices (1 or 0)."""
    N, T = Y.shape
    mult = positive.copy()
    if m <= 1 or not seasonal.any():
        return np.where(mult[:, None], np.ones((N, max(m, 1))), 0.0), mult
    w = np.r_[0.5, np.ones(m - 1), 0.5] / m if m % 2 == 0 else np.ones(m) / m
    L, half = len(w), len(w) // 2
    valid = ~np.isnan(Y)
    Zf = np.nan_to_num(Y)
    ma = np.zeros((N, T - L + 1))
    cnt = np.zeros((N, T - L + 1))
    for j, wj in enumerate(w):
        ma += wj * Zf[:, j : T - L + 1 + j]
        cnt += valid[:, j : T - L + 1 + j]
    trend = np.full((N, T), np.nan)
    trend[:, half : T - half] = np.where(cnt == L, ma, np.nan)
    phase = backward_phase(T, m)

    def indices(multiplicative: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN phases of short series
            det = np.where(multiplicative[:, None], Y / trend, Y - trend)
            idx = np.stack([np.nanmean(det[:, phase == p], 1) for p in range(m)], 1)
        neutral = np.where(multiplicative[:, None], 1.0, 0.0)
        idx = np.where(np.isfinite(idx), idx, neutral)
        return np.where(multiplicative[:, None], idx / idx.mean(1, keepdims=True), idx - idx.mean(1, keepdims=True))

    idx = indices(mult)
    weak = mult & seasonal & (idx.min(1) < 0.01)  # statsforecast's rule: near-zero index -> additive
    if weak.any():
        mult = mult & ~weak
        idx = indices(mult)
    idx[~seasonal] = np.where(mult[~seasonal, None], 1.0, 0.0)
    return idx, mult


def adjust(Y: np.ndarray, idx: np.ndarray, mult: np.ndarray) -> np.ndarray:
    phase = backward_phase(Y.shape[1], idx.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):  # np.where evaluates Y / 0 for additive rows
        return np.where(mult[:, None], Y / idx[:, phase], Y - idx[:, phase])


def reseasonalise(F: np.ndarray, idx: np.ndarray, mult: np.ndarray) -> np.ndarray:
    s = idx[:, (-np.arange(1, F.shape[1] + 1)) % idx.shape[1]]
    return np.where(mult[:, None], F * s, F + s)


@dataclass(frozen=True)
class EtsFit:
    """Per series: the best grid point overall (`mean`, `var_factor`, `sigma`) and the best damped
    one (phi < 1, `mean_damped`). var_factor[k] = 1 + sum_{j<k} c_j^2 (the additive ETS formula),
    so the one-step-error sigma times sqrt(var_factor) is the model's k-step standard error."""

    mean: np.ndarray
    mean_damped: np.ndarray
    sigma: np.ndarray
    var_factor: np.ndarray
    params: np.ndarray  # (N, 4) alpha, beta, phi, gamma of `mean`


def ets(Y: np.ndarray, n: np.ndarray, h: int, m: int, idx: np.ndarray, mult: np.ndarray) -> EtsFit:
    """Damped seasonal ETS on every row of `Y` (see the module docstring). Rows are processed in
    chunks of similar length and the same seasonal type, on `_THREADS` threads."""
    N = Y.shape[0]
    order = np.lexsort((n, mult))
    chunks = [order[i : i + _CHUNK] for i in range(0, N, _CHUNK)]
    chunks = [c[mult[c] == flag] for c in chunks for flag in (False, True) if (mult[c] == flag).any()]
    mean, damped = np.empty((N, h)), np.empty((N, h))
    sigma, var, params = np.empty(N), np.empty((N, h)), np.empty((N, 4))

    def work(rows: np.ndarray) -> None:
        out = _ets_chunk(Y[rows], n[rows], h, idx[rows], bool(mult[rows[0]]))
        mean[rows], damped[rows], sigma[rows], var[rows], params[rows] = out

    if len(chunks) > 1 and _THREADS > 1:
        with ThreadPoolExecutor(_THREADS) as pool:
            list(pool.map(work, chunks))
    else:
        for c in chunks:
            work(c)
    return EtsFit(mean, damped, sigma, var, params)


def _ets_chunk(Y: np.ndarray, n: np.ndarray, h: int, idx: np.ndarray, multiplicative: bool
               ) -> tuple[np.ndarray, ...]:  # fmt: skip
    N, T = Y.shape
    m = idx.shape[1]
    c0 = int((T - n).min())
    Y = Y[:, c0:]
    T = Y.shape[1]
    start = T - n
    rows = np.arange(N)
    A, B, P, Gm = (GRID[:, i : i + 1] for i in range(4))
    G = GRID.shape[0]
    phase = backward_phase(T, m)
    S = np.broadcast_to(idx.T[:, None, :], (m, G, N)).copy()  # seasonal state by phase, contiguous per phase
    s_first = idx[rows, phase[start]]
    first = Y[rows, start]
    lvl = np.broadcast_to(first / s_first if multiplicative else first - s_first, (G, N)).copy()
    trend = np.zeros((G, N))
    sse = np.zeros((G, N))
    X = np.nan_to_num(Y)
    for c in range(int(start.min()) + 1, T):
        active = (c > start).astype(float)
        p = phase[c]
        s = S[p]
        base = lvl + P * trend
        if multiplicative:
            err = (X[:, c] - base * s) * active
            esc = err / np.where(s != 0, s, 1.0)
            S[p] = s + Gm * err / np.where(base != 0, base, 1.0)
        else:
            err = (X[:, c] - base - s) * active
            esc = err
            S[p] = s + Gm * err
        lvl = base + A * esc
        trend = P * trend + B * esc
        sse += err * err
    k = np.arange(1, h + 1)
    future = S[(-k) % m]  # (h, G, N)

    def forecast(pick: np.ndarray) -> np.ndarray:
        phis = np.cumsum(P[pick, 0][:, None] ** k, axis=1)
        base = lvl[pick, rows][:, None] + phis * trend[pick, rows][:, None]
        s = future[:, pick, rows].T
        return base * s if multiplicative else base + s

    if m > 1:  # seasonal states need two full seasons to be estimated
        sse[(Gm[:, 0] > 0)[:, None] & (n < 2 * m)[None, :]] = np.inf
    best = sse.argmin(0)
    damped_sse = np.where(P < 1, sse, np.inf)
    a, b, p, g = (GRID[best, i] for i in range(4))
    phis = np.cumsum(p[:, None] ** k, axis=1)
    cj = a[:, None] + b[:, None] * phis + g[:, None] * (k % m == 0)[None, :]  # c_j, j = 1..h
    var = 1.0 + np.concatenate([np.zeros((N, 1)), np.cumsum(cj**2, axis=1)[:, :-1]], axis=1)
    n_par = 3 + (m - 1 if m > 1 else 0)
    sigma = np.sqrt(sse[best, rows] / np.maximum(n - 1 - n_par, 1))
    return forecast(best), forecast(damped_sse.argmin(0)), sigma, var, GRID[best]


def theta(Yadj: np.ndarray, n: np.ndarray, h: int) -> np.ndarray:
    """Standard Theta (SES with drift b0/2) on seasonally adjusted rows; alpha from a grid by SSE."""
    N, T = Yadj.shape
    start = T - n
    rows = np.arange(N)
    alphas = np.array(_ALPHAS)[:, None]
    lvl = np.broadcast_to(Yadj[rows, start], (len(_ALPHAS), N)).copy()
    sse = np.zeros_like(lvl)
    X = np.nan_to_num(Yadj)
    for c in range(int(start.min()) + 1, T):
        err = (X[:, c] - lvl) * (c > start)
        lvl += alphas * err
        sse += err * err
    best = sse.argmin(0)
    a, level = alphas[best, 0], lvl[best, rows]
    valid = ~np.isnan(Yadj)
    t = np.arange(T, dtype=float)[None, :]
    sw, st, stt = valid.sum(1), (valid * t).sum(1), (valid * t * t).sum(1)
    sy, sty = X.sum(1), (X * t).sum(1)
    den = sw * stt - st * st
    slope = np.divide(sw * sty - st * sy, den, out=np.zeros(N), where=den > 0)
    k = np.arange(1, h + 1)[None, :]
    return level[:, None] + slope[:, None] / 2 * (k - 1 + 1 / a[:, None] - (1 - a[:, None]) ** n[:, None] / a[:, None])


def seasonal_naive(Y: np.ndarray, n: np.ndarray, h: int, m: int) -> np.ndarray:
    """The value one season back (the last value where the series has fewer than two seasons)."""
    N, T = Y.shape
    lag = np.where(n >= 2 * m, m, 1) if m > 1 else np.ones(N, int)
    k = np.arange(h)[None, :]
    return Y[np.arange(N)[:, None], T - lag[:, None] + k % lag[:, None]]
