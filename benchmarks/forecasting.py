"""Benchmark: forecasting throughput (printed, not asserted).

    uv run python benchmarks/forecasting.py
    uv run python benchmarks/forecasting.py --series 1000 10000 --prophet-fits 5

Fast path: `analytics.forecasting.forecast(panel, 30, method="fast_ets")` on synthetic
per-customer daily series (180 days of history; trend, weekly pattern, noise, some zeros), end to
end through the public function (validation, gap check, model, dates). Also shown: `method="auto"`
on the same panel (the calibrated ensemble: seasonal naive, Theta and two damped seasonal ETS
fits, plus one backtest fit for the interval calibration),
statsforecast AutoETS on a sample, to show why it is not the fast path here (`n_jobs=1`), and the
fast path's backtest accuracy next to AutoETS and seasonal naive (is it adequate?).
Prophet: seconds per `forecast(..., method="prophet")` on a 730-day daily series (fit + 30-day
prediction with intervals), after one warm-up fit. One-time import costs are printed separately.
Targets on this machine: >= 200 series/s on the fast path; a Prophet headline fit < 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import time
import warnings

import numpy as np
import polars as pl

START = dt.date(2025, 1, 1)


def customer_panel(n_series: int, days: int = 180, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    base = rng.lognormal(4.0, 1.0, n_series)[:, None]
    growth = rng.normal(0.002, 0.003, n_series)[:, None]
    weekend = rng.uniform(0.2, 0.8, n_series)[:, None]
    weekday = (t + START.weekday()) % 7
    level = base * np.maximum(1 + growth * t, 0.05) * np.where(weekday >= 5, weekend, 1.0)
    y = np.maximum(rng.normal(level, 0.15 * level), 0.0).round()
    ds = pl.date_range(START, START + dt.timedelta(days=days - 1), eager=True)
    return pl.DataFrame({
        "unique_id": np.repeat(np.arange(n_series), days),
        "ds": pl.concat([ds] * n_series),
        "y": y.ravel(),
    })  # fmt: skip


def headline_series(days: int = 730, seed: int = 1) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(days)
    weekday = (t + START.weekday()) % 7
    y = (5_000 + 8.0 * t) * (1 + 0.08 * np.sin(2 * np.pi * t / 365.25)) * np.where(weekday >= 5, 0.55, 1.0)
    ds = pl.date_range(START, START + dt.timedelta(days=days - 1), eager=True)
    return pl.DataFrame({"ds": ds, "y": y * rng.normal(1.0, 0.03, days)})


def timed(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def _scores(report) -> str:  # type: ignore[no-untyped-def]
    rows = report.metrics.select("method", "mase", "relative_mae").iter_rows()
    return ", ".join(f"{m} MASE {mase:.3f} (MAE x{rel:.2f} of seasonal naive)" for m, mase, rel in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", nargs="+", type=int, default=[1_000, 10_000])
    parser.add_argument("--horizon", type=int, default=30)
    parser.add_argument("--prophet-fits", type=int, default=5)
    parser.add_argument("--autoets-sample", type=int, default=100)
    parser.add_argument("--sample-accuracy", type=int, default=50, help="series in the AutoETS accuracy comparison")
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}")
    _, t_import = timed(__import__, "analytics.forecasting")
    from analytics.forecasting import forecast

    _, t_sf = timed(__import__, "statsforecast.models")
    print(f"one-time imports: analytics.forecasting {t_import:.2f} s, statsforecast.models {t_sf:.2f} s")
    forecast(customer_panel(20), args.horizon, method="fast_ets")  # warm-up

    print(f"\nfast path (per-customer daily series, 180 days history, horizon {args.horizon})")
    print(f"{'series':>8}  {'method':<22} {'seconds':>8}  {'series/s':>9}")
    for n in args.series:
        panel = customer_panel(n)
        out, secs = timed(forecast, panel, args.horizon, method="fast_ets")
        assert out.height == n * args.horizon
        print(f"{n:>8,}  {'fast_ets':<22} {secs:>8.2f}  {n / secs:>9,.0f}")
        out, secs = timed(forecast, panel, args.horizon, method="auto", n_windows=3)
        chosen = out.group_by("unique_id").agg(pl.col("method").first())["method"].value_counts().sort("count", descending=True)
        mix = ", ".join(f"{m} {c}" for m, c in chosen.iter_rows())
        print(f"{n:>8,}  {'auto (ensemble)':<22} {secs:>8.2f}  {n / secs:>9,.0f}   chosen: {mix}")

    sample = customer_panel(args.autoets_sample, seed=3)
    forecast(customer_panel(3, seed=4), args.horizon, method="ets")  # numba warm-up
    _, secs = timed(forecast, sample, args.horizon, method="ets")
    print(f"{args.autoets_sample:>8,}  {'ets (sf AutoETS)':<22} {secs:>8.2f}  {args.autoets_sample / secs:>9,.1f}   (n_jobs=1)")

    print("\nadequacy of the fast path (rolling-origin backtest, horizon 30)")
    from analytics.forecasting import backtest

    report = backtest(customer_panel(1_000, seed=5), args.horizon, methods=["fast_ets", "seasonal_naive"], n_windows=3)
    print("1,000 series, 3 windows: " + _scores(report))
    report = backtest(customer_panel(args.sample_accuracy, seed=6), args.horizon,
                      methods=["ets", "fast_ets", "seasonal_naive"], n_windows=2)  # fmt: skip
    print(f"{args.sample_accuracy} series, 2 windows:   " + _scores(report))

    print("\nProphet (730-day daily series, 30-day forecast with intervals)")
    series = headline_series()
    _, warm = timed(forecast, series, 30, method="prophet")
    fits = [timed(forecast, series, 30, method="prophet")[1] for _ in range(args.prophet_fits)]
    print(f"first call (incl. Prophet import): {warm:.2f} s")
    print(f"per fit+predict: median {np.median(fits):.3f} s, min {min(fits):.3f} s, max {max(fits):.3f} s over {len(fits)}")


if __name__ == "__main__":
    main()
