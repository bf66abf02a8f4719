"""Benchmark: the governed p95 latency against the true p95 of the demo's requests, and against the
rule it replaced (a mean of percentiles), on normal days, on the outage day and by month.

    uv run python benchmarks/latency_percentiles.py DATA_DIR      # a built demo (psz demo)

Truth: each usage row (account, endpoint, day) has a lognormal latency distribution set by its
p50 and p95 (orchestration/demo_company/latency.py); the true p95 of a period is the 95th
percentile of the request-weighted mixture of its rows' distributions, solved numerically.
New: the governed metric `p95_latency` (histogram buckets merged, then interpolated), through
analytics.metrics. Old: the previous governed rule, recomputed from the same rows: the endpoint-day
p95 was the request-weighted mean of the accounts' p95, the metric the unweighted mean of those
over the period's endpoint-days. Also the old `performance_metrics` figure (request-weighted mean
of endpoint-day p95s). Errors are relative to the truth, signed (negative: too low).
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from analytics import metrics
from analytics.settings import Settings
from orchestration.demo_company.latency import mixture_quantile


def raw_rows(settings: Settings) -> pl.DataFrame:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return pl.from_arrow(
            con.sql("""
            select cast(date as date) as day, endpoint, requests, latency_p50_ms as p50, latency_p95_ms as p95
            from raw_usage.api_requests where requests > 0""").to_arrow_table()
        )  # type: ignore[return-value]


def outage_days(settings: Settings) -> set[dt.date]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        spans = con.execute(
            "select start, \"end\" from demo_truth.anomalies where kind = 'outage'"
        ).fetchall()
    days: set[dt.date] = set()
    for start, end in spans:
        d = start.date()
        while d <= end.date():
            days.add(d)
            d += dt.timedelta(days=1)
    return days


def compare(rows: pl.DataFrame, governed: pl.DataFrame, period: str) -> pl.DataFrame:
    """One row per period: truth, governed (new), old governed rule, old report figure."""
    ep_day = rows.group_by("day", "endpoint").agg(
        period=pl.col(period).first(),
        requests=pl.col("requests").sum(),
        p95=(pl.col("p95") * pl.col("requests")).sum() / pl.col("requests").sum(),
    )
    old = ep_day.group_by("period").agg(
        old_metric=pl.col("p95").mean(),
        old_report=(pl.col("p95") * pl.col("requests")).sum() / pl.col("requests").sum(),
    )
    truth = [
        {"period": key[0], "truth": mixture_quantile(0.95, g["requests"].to_numpy(), g["p50"].to_numpy(), g["p95"].to_numpy())}
        for key, g in rows.group_by(period)
    ]  # fmt: skip
    return (
        pl.DataFrame(truth)
        .join(governed.select("period", new=pl.col("p95_latency")), on="period")
        .join(old, on="period")
        .sort("period")
    )


def summarise(label: str, frame: pl.DataFrame) -> None:
    cols = ("new", "old_metric", "old_report")
    errs = {c: (frame[c] / frame["truth"] - 1).to_numpy() for c in cols}
    print(f"{label:<28}{frame.height:>5}" + "".join(
        f"{np.median(errs[c]):>+10.1%}{np.max(np.abs(errs[c])):>9.1%}" for c in cols))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir, read_from="build")
    rows = raw_rows(settings).with_columns(month=pl.col("day").dt.truncate("1mo"))
    outage = outage_days(settings)
    daily = metrics.query("p95_latency", grain="day", settings=settings).data
    monthly = metrics.query("p95_latency", grain="month", settings=settings).data
    by_day = compare(rows, daily, "day")
    by_month = compare(rows.filter(pl.col("month") <= monthly["period"].max()), monthly, "month")
    normal = by_day.filter(~pl.col("period").is_in(sorted(outage)))
    print(f"{'relative error vs truth':<28}{'n':>5}" + "".join(
        f"{c + ' med':>10}{'max|.|':>9}" for c in ("new", "old", "report")))  # fmt: skip
    summarise("platform-day, normal days", normal)
    summarise("platform-month", by_month)
    for row in by_day.filter(pl.col("period").is_in(sorted(outage))).iter_rows(named=True):
        print(f"outage day {row['period']}: truth {row['truth']:.0f} ms, new {row['new']:.0f} "
              f"({row['new'] / row['truth'] - 1:+.1%}), old metric {row['old_metric']:.0f} "
              f"({row['old_metric'] / row['truth'] - 1:+.1%}), old report {row['old_report']:.0f} "
              f"({row['old_report'] / row['truth'] - 1:+.1%})")  # fmt: skip
    ep = metrics.query(
        "p95_latency", grain="month", dimensions=["endpoint"], settings=settings
    ).data
    errs = []
    for (endpoint,), g in rows.filter(pl.col("month") <= monthly["period"].max()).group_by(
        "endpoint"
    ):
        joined = compare(g, ep.filter(pl.col("endpoint") == endpoint), "month")
        errs.append(joined["new"] / joined["truth"] - 1)
    e = pl.concat(errs).to_numpy()
    print(
        f"endpoint-month (new only): n {e.size}, median {np.median(e):+.1%}, max |error| {np.max(np.abs(e)):.1%}"
    )


if __name__ == "__main__":
    main()
