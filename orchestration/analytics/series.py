"""The inputs of the analytics assets, read from the warehouse: governed metrics through
`analytics.metrics.query` (one definition of every number), plus the few mart columns no metric
covers (the MRR bridge, peak utilisation, costs). Shaping only (`ds`, `y`, `unique_id`); no
business arithmetic."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import polars as pl

from analytics.metrics import query
from analytics.settings import Settings
from analytics.warehouse import run_query


def marts(*models: str) -> list[dg.AssetKey]:
    return [dg.AssetKey(["marts", m]) for m in models]


@dataclass(frozen=True)
class Headline:
    """One headline series: a governed metric at a grain, forecast `horizon` periods ahead."""

    name: str
    metric: str
    grain: str  # metric grain: day | month
    freq: str  # forecast frequency: D | MS
    horizon: int


# marts behind the governed metrics read below (semantic models -> dbt models)
HEADLINE_MARTS = marts("fct_mrr_daily", "fct_customer_mrr_monthly", "fct_mrr_summary_monthly",
                       "fct_revenue_recognition_daily", "fct_revenue_monthly", "fct_api_metrics_daily")  # fmt: skip
ANOMALY_MARTS = marts("fct_api_metrics_daily", "fct_payments", "fct_revenue_recognition_daily")
CAPACITY_MARTS = marts("fct_service_capacity_daily")
SCENARIO_MARTS = marts("fct_mrr_summary_monthly", "fct_pnl_monthly")

HEADLINES = (
    Headline("mrr", "mrr", "month", "MS", 6),
    Headline("recognized_revenue", "recognized_revenue", "month", "MS", 6),
    Headline("paying_customers", "paying_customers", "month", "MS", 6),
    Headline("api_requests", "api_requests", "day", "D", 28),
)

# metric -> what a missing day means (counts and amounts: nothing happened; rates: unknown)
ANOMALY_METRICS = {
    "api_requests": 0.0,
    "error_rate": None,
    "p95_latency": None,
    "failed_payments": 0.0,
    "recognized_revenue": 0.0,
}


def metric_series(
    settings: Settings, metric: str, grain: str, fill: float | None = None
) -> pl.DataFrame:
    """`ds`, `y` of one governed metric; with `fill`, every period between the first and last
    present (missing ones set to `fill`), so detectors see the quiet days too."""
    data = query(metric, grain=grain, settings=settings).data
    frame = data.select(
        pl.col("period").alias("ds"), pl.col(metric).cast(pl.Float64).alias("y")
    ).sort("ds")
    frame = frame.filter(pl.col("ds").is_not_null())
    if fill is None or frame.height == 0:
        return frame.drop_nulls("y")
    interval = "1d" if grain == "day" else "1mo"
    days = pl.DataFrame(
        {"ds": pl.date_range(frame["ds"].min(), frame["ds"].max(), interval, eager=True)}
    )  # type: ignore[arg-type]
    return days.join(frame, on="ds", how="left").with_columns(pl.col("y").fill_null(fill))


def mrr_bridge(settings: Settings) -> pl.DataFrame:
    return run_query(settings, "select * from marts.fct_mrr_summary_monthly order by month_start")


def peak_utilisation(settings: Settings) -> pl.DataFrame:
    """`unique_id` = service, `ds`, `y` = peak utilisation. Overloaded days (demand above
    capacity, y > 1) are clipped at 1: a service cannot run above full."""
    frame = run_query(settings, """
        select service as unique_id, date_day as ds, peak_utilisation as y
        from marts.fct_service_capacity_daily where peak_utilisation is not null
    """)  # fmt: skip
    return frame.with_columns(
        pl.col("ds").cast(pl.Date), pl.col("y").cast(pl.Float64).clip(0.0, 1.0)
    ).sort("unique_id", "ds")


def monthly_costs(settings: Settings) -> pl.DataFrame:
    """`ds` = month, `y` = cash costs of the month (cost of revenue + operating expenses, USD) from
    the P&L mart, closed months with their opex booked."""
    return run_query(settings, """
        select month_start as ds, cost_of_revenue_usd + total_opex_usd as y from marts.fct_pnl_monthly
        where is_closed_month and not is_missing_opex order by 1
    """).with_columns(pl.col("ds").cast(pl.Date))  # fmt: skip
