"""API latency as histograms: per-row bucket counts, the shape Prometheus and OpenTelemetry
explicit-bucket histograms export (upper bounds in ms, a count per bucket, a last +Inf bucket).

Each usage row (account, endpoint, day) has a latency distribution the generator sets by its p50
and p95; it is taken as lognormal (mu = ln p50, sigma = ln(p95 / p50) / z95). The row's requests
are spread over the buckets by that distribution and rounded (cumulative counts to the nearest
integer): deterministic, no random draws, so adding histograms leaves every other generated
number as it was. dbt merges the counts and interpolates percentiles (dbt var `latency_buckets_ms`, equal to
BUCKETS_MS: a test holds them together).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq
from scipy.special import ndtr

# Upper bounds (ms): round numbers about x1.3 apart (1, 1.3, 1.7, 2.2, 3, 4, 5, 6.5, 8 per decade).
# Linear interpolation inside a bucket overstates a right-skewed distribution's p95; on the demo
# (scale 0.3) x1.3 buckets put the endpoint-month p95 a median +2.5% (max 4.7%) above the true one,
# the suggested x1.6 buckets +8.0% (max 12.7%) (benchmarks/latency_percentiles.py prints it).
BUCKETS_MS: tuple[int, ...] = (5, 7, 10, 13, 17, 22, 30, 40, 50, 65, 80, 100, 130, 170, 220, 300, 400, 500, 650,
                               800, 1000, 1300, 1700, 2200, 3000, 4000, 5000, 6500, 8000, 10000, 13000, 17000,
                               22000, 30000)  # fmt: skip
Z95 = 1.6448536269514722  # standard normal quantiles
Z99 = 2.3263478740408408
_CHUNK = 200_000  # rows per block: bounds memory at ~ rows x buckets x 8 bytes x a few arrays


def bucket_columns() -> list[str]:
    """Column names of the per-bucket (not cumulative) counts, +Inf last."""
    return [f"latency_bucket_le_{b}" for b in BUCKETS_MS] + ["latency_bucket_le_inf"]


def _sigma(p50: np.ndarray, p95: np.ndarray) -> np.ndarray:
    return np.log(np.asarray(p95, dtype=np.float64) / np.asarray(p50, dtype=np.float64)) / Z95


def p99(p50: np.ndarray, p95: np.ndarray) -> np.ndarray:
    """The p99 of the lognormal that has this p50 and p95."""
    p50 = np.asarray(p50, dtype=np.float64)
    return p50 * np.exp(Z99 * _sigma(p50, p95))


def histogram(requests: np.ndarray, p50: np.ndarray, p95: np.ndarray) -> np.ndarray:
    """Per-bucket request counts, shape (rows, len(BUCKETS_MS) + 1), each row summing to its
    requests. The cumulative counts (requests within each bound, what percentiles read) are the
    expected ones under the row's lognormal rounded to the nearest integer, so each is within 0.5
    of exact, and the per-bucket counts (their differences) stay non-negative and sum to the total."""
    requests = np.asarray(requests, dtype=np.int64)
    out = np.empty((requests.size, len(BUCKETS_MS) + 1), dtype=np.int64)
    log_bounds = np.log(np.asarray(BUCKETS_MS, dtype=np.float64))
    for lo in range(0, requests.size, _CHUNK):
        sl = slice(lo, lo + _CHUNK)
        mu = np.log(np.asarray(p50[sl], dtype=np.float64))
        cdf = ndtr((log_bounds[None, :] - mu[:, None]) / _sigma(p50[sl], p95[sl])[:, None])
        within = np.rint(requests[sl, None] * cdf).astype(np.int64)
        out[sl, 0] = within[:, 0]
        out[sl, 1:-1] = np.diff(within, axis=1)
        out[sl, -1] = requests[sl] - within[:, -1]
    return out


def mixture_quantile(q: float, requests: np.ndarray, p50: np.ndarray, p95: np.ndarray) -> float:
    """The q-quantile of all requests of many rows together: the request-weighted mixture of the
    rows' lognormals, solved numerically. The truth that bucket interpolation approximates."""
    w = np.asarray(requests, dtype=np.float64)
    if w.sum() <= 0:
        return float("nan")
    mu, sigma = np.log(np.asarray(p50, dtype=np.float64)), _sigma(p50, p95)

    def excess(log_x: float) -> float:
        return float(np.dot(w, ndtr((log_x - mu) / sigma)) / w.sum() - q)

    lo, hi = float((mu - 8 * sigma).min()), float((mu + 8 * sigma).max())  # F(lo) ~ 0, F(hi) ~ 1
    return float(np.exp(brentq(excess, lo, hi, xtol=1e-10)))
