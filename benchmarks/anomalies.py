"""Benchmark: anomaly detection time per 1,000 daily series of 730 days (printed, not asserted).

    uv run python benchmarks/anomalies.py                 # 1,000 and 10,000 series, both baselines
    uv run python benchmarks/anomalies.py --series 1000 --repeat 5

The series are synthetic customer-usage-like series (log-normal level per series, growth, a
weekly profile, 8% noise, a few spikes). Wall time is the best of `--repeat` runs; CPU time is
the process CPU time of that run (polars may use several threads; the numpy core one). Also
times the multivariate detector on 1,000 entities x 3 metrics.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import time

import numpy as np
import polars as pl

from analytics.anomalies import detect, detect_multivariate

DAYS = 730
WEEKLY = np.array([0.0, 0.05, 0.08, 0.05, 0.0, -0.5, -0.6])


def make_frame(n_series: int, seed: int = 0, days: int = DAYS) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    dates = pl.date_range(
        dt.date(2024, 11, 1), dt.date(2024, 11, 1) + dt.timedelta(days=days - 1), eager=True
    )
    weekday = WEEKLY[dates.dt.weekday().to_numpy() - 1]
    log_y = (
        rng.normal(5, 1, (n_series, 1)) + rng.normal(0.001, 0.0005, (n_series, 1)) * np.arange(days)
        + weekday[None, :] + rng.normal(0, 0.08, (n_series, days))
    )  # fmt: skip
    spikes = rng.random((n_series, days)) < 0.002
    log_y += spikes * rng.choice([-0.8, 0.8], size=(n_series, days))
    return pl.DataFrame({
        "unique_id": np.repeat(np.arange(n_series), days),
        "ds": np.tile(dates.to_numpy(), n_series),
        "y": np.exp(log_y).ravel(),
    })  # fmt: skip


def timed(fn, repeat: int) -> tuple[float, float, object]:  # type: ignore[no-untyped-def]
    best = (float("inf"), 0.0, None)
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best[0]:
            best = (wall, cpu, out)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--series", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"anomaly detection benchmark ({platform.processor() or platform.machine()}, "
          f"python {platform.python_version()}, polars {pl.__version__}, numpy {np.__version__})")  # fmt: skip
    print(f"{'series':>8} {'days':>5} {'baseline':>9} {'wall s':>8} {'cpu s':>7} {'s / 1,000 series':>17} "
          f"{'series / s':>11} {'flagged':>8}")  # fmt: skip
    detect(make_frame(50))  # warm-up (imports, first polars calls)
    for n in args.series:
        frame = make_frame(n)
        for baseline in ("centred", "trailing"):
            wall, cpu, out = timed(lambda: detect(frame, baseline=baseline), args.repeat)  # noqa: B023
            flagged = int(out["is_anomaly"].sum())  # type: ignore[index]
            print(f"{n:>8,} {DAYS:>5} {baseline:>9} {wall:>8.2f} {cpu:>7.2f} {wall / n * 1000:>17.2f} "
                  f"{n / wall:>11,.0f} {flagged:>8,}")  # fmt: skip
    entities = 1000
    usage = make_frame(entities * 3, seed=1)
    wide = (
        usage.with_columns((pl.col("unique_id") % 3).alias("metric"), (pl.col("unique_id") // 3).alias("customer"))
        .pivot(on="metric", index=["customer", "ds"], values="y")
        .rename({"0": "requests", "1": "errors", "2": "latency"})
    )  # fmt: skip
    wall, cpu, out = timed(
        lambda: detect_multivariate(wide, "customer", "ds", ["requests", "errors", "latency"]), 1
    )
    print(f"multivariate: {entities:,} entities x 3 metrics x {DAYS} days: {wall:.2f} s wall, {cpu:.2f} s cpu, "
          f"{int(out['is_anomaly'].sum()):,} flagged entity-days")  # type: ignore[index]  # fmt: skip


if __name__ == "__main__":
    main()
