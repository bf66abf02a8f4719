"""Business intelligence reports: ranked insights, anomaly windows, model quality, and live
forecasts / anomaly scans of any governed metric.

The live functions read the metric through `analytics.metrics.query` (so the answer carries the
metric definition and SQL) and run the same models the pipeline uses.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from analytics import anomalies, forecasting
from analytics import metrics as metric_layer
from analytics.settings import Settings

from .base import Report, ReportError, fetch

INSIGHT_TYPES = ("opportunity", "risk", "trend", "anomaly")
PRIORITIES = ("low", "medium", "high", "critical")
# grain -> (forecasting/anomaly freq, default history window in periods)
GRAIN_FREQ = {"day": ("D", 365), "week": ("W", 104), "month": ("MS", 36)}
ANOMALY_FREQ = {"day": "D", "week": "W", "month": "M"}

Progress = Callable[[float, float, str], None]


def _no_progress(done: float, total: float, message: str) -> None:
    return None


def insights(settings: Settings, *, types: Sequence[str] = (), min_priority: str = "low",
             limit: int = 20) -> Report:  # fmt: skip
    """The ranked insights of the last pipeline run (`analytics.insights`), best first."""
    bad = [t for t in types if t not in INSIGHT_TYPES]
    if bad:
        raise ReportError(f"unknown insight type(s) {bad}; valid: {', '.join(INSIGHT_TYPES)}")
    if min_priority not in PRIORITIES:
        raise ReportError(f"unknown priority {min_priority!r}; valid: {', '.join(PRIORITIES)}")
    allowed = list(PRIORITIES[PRIORITIES.index(min_priority):])
    type_list = list(types) or list(INSIGHT_TYPES)
    sql = f"""
        select rank, id, type, priority, title, description, rule, subject, period, confidence,
               impact_financial, impact_operational, impact_strategic, recommendations, data_points,
               evidence, count(*) over () as total
        from analytics.insights
        where type in ({', '.join('?' * len(type_list))}) and priority in ({', '.join('?' * len(allowed))})
        order by rank
        limit {int(limit)}"""
    return fetch(settings, sql, ("analytics.insights",), [*type_list, *allowed])


def parse_json_list(text: Any) -> list[Any]:
    """A JSON list column written back by the pipeline (text in the warehouse)."""
    if text is None:
        return []
    if isinstance(text, list):
        return text
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return [text]
    return value if isinstance(value, list) else [value]


def parse_json_object(text: Any) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def anomaly_windows(settings: Settings, *, series: str | None = None, limit: int = 50) -> Report:
    """Anomalous windows found by the last pipeline run (`analytics.anomaly_windows`), newest first."""
    where, params = ("where series = ?", [series]) if series else ("", [])
    if series:
        known = fetch(settings, "select distinct series from analytics.anomaly_windows", ("analytics.anomaly_windows",))
        names = known.data["series"].to_list()
        if series not in names:
            raise ReportError(f"no anomaly series {series!r}; series with anomalies: {', '.join(sorted(names))}")
    sql = f"""
        select series, start, "end", periods, peak_ds, peak_score, direction, peak_y, peak_expected,
               deviation, count(*) over () as total
        from analytics.anomaly_windows {where}
        order by "end" desc, peak_score desc
        limit {int(limit)}"""
    return fetch(settings, sql, ("analytics.anomaly_windows",), params or None)


def model_performance(settings: Settings, model: str | None = None) -> Report:
    """Evaluation figures of every model the pipeline trains: forecasts (rolling-origin backtest),
    churn and lead scoring (held-out period), one row per model, subject and metric."""
    sql = """
        select model, subject, metric, value from analytics.model_metrics
        {where}
        order by model, subject, metric"""
    if model:
        known = fetch(settings, "select distinct model from analytics.model_metrics", ("analytics.model_metrics",))
        names = sorted(known.data["model"].to_list())
        if model not in names:
            raise ReportError(f"unknown model {model!r}; models: {', '.join(names)}")
        return fetch(settings, sql.format(where="where model = ?"), ("analytics.model_metrics",), [model])
    return fetch(settings, sql.format(where=""), ("analytics.model_metrics",))


def forecast_backtests(settings: Settings) -> Report:
    """Backtest of every candidate method per forecast series (chosen = lowest MASE)."""
    return fetch(settings, """
        select series, freq, horizon, method, is_chosen, mae, smape, mase, coverage, relative_mae
        from analytics.forecast_backtests order by series, mase""", ("analytics.forecast_backtests",))  # fmt: skip


# ---- live analyses of a governed metric -------------------------------------------------------


@dataclass(frozen=True)
class MetricSeries:
    """One governed metric as a time series (`ds`, `y`) and the query that produced it."""

    metric: str
    grain: str
    history: pl.DataFrame  # ds, y
    result: metric_layer.MetricResult


def metric_series(settings: Settings, metric: str, grain: str, start: dt.date | None, end: dt.date | None,
                  filters: Mapping[str, Any] | None = None) -> MetricSeries:  # fmt: skip
    if grain not in GRAIN_FREQ:
        raise ReportError(f"grain must be one of {', '.join(GRAIN_FREQ)} for a time-series analysis, got {grain!r}")
    result = metric_layer.query(metric, grain=grain, start=start, end=end, filters=filters, settings=settings)
    history = result.data.select(pl.col("period").alias("ds"), pl.col(metric).cast(pl.Float64).alias("y"))
    history = history.filter(pl.col("y").is_not_null()).sort("ds")
    if history.height == 0:
        raise ReportError(f"{metric} has no values in the requested range: widen start/end")
    return MetricSeries(metric=metric, grain=grain, history=history, result=result)


@dataclass(frozen=True)
class MetricForecast:
    series: MetricSeries
    forecast: pl.DataFrame  # ds, yhat, yhat_lower, yhat_upper, method, warning
    backtest: dict[str, Any]  # BacktestReport.as_dict()
    method: str
    warnings: list[str] = field(default_factory=list)


def forecast_metric(settings: Settings, metric: str, *, horizon: int, grain: str = "month",
                    method: str = "auto", start: dt.date | None = None, level: float = 80,
                    progress: Progress = _no_progress) -> MetricForecast:  # fmt: skip
    """Forecast a governed metric `horizon` periods ahead, trained on complete periods only.
    `method="auto"` is the calibrated ensemble (`analytics.forecasting`); the rolling-origin
    backtest of the candidates is returned either way, and `warnings` leads with what it says
    about the forecast's quality (MASE at or above 1, intervals off nominal)."""
    freq, window = GRAIN_FREQ.get(grain, ("MS", 36))
    progress(0, 3, f"reading {metric} by {grain}")
    series = metric_series(settings, metric, grain, start, None)
    history = series.history.tail(window) if start is None else series.history
    if history.height < 8:
        raise ReportError(f"{metric} has only {history.height} {grain}s of history; a forecast needs at least 8")
    progress(1, 3, f"backtesting forecast methods on {history.height} points")
    caught: list[str] = []
    try:
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("always")
            report = forecasting.backtest(history, horizon, freq=freq, level=level)
            progress(2, 3, f"forecasting with {method}")
            frame = forecasting.forecast(history, horizon, freq=freq, method=method, level=level)  # type: ignore[arg-type]
        caught = [str(w.message) for w in seen]
    except forecasting.ForecastError as exc:
        raise ReportError(str(exc)) from None
    progress(3, 3, "done")
    used = str(frame["method"][0]) if frame.height else method
    quality = forecasting.quality_warnings(report, method=used if used in report.methods else None)
    rest = [w for w in caught if w not in quality]
    return MetricForecast(series=series, forecast=frame, backtest=report.as_dict(), method=used,
                          warnings=quality + rest)  # fmt: skip


@dataclass(frozen=True)
class MetricAnomalies:
    series: MetricSeries
    scored: pl.DataFrame  # ds, y, expected, lower, upper, score, is_anomaly
    windows: list[dict[str, Any]]
    sensitivity: float


def detect_metric_anomalies(settings: Settings, metric: str, *, grain: str = "day", sensitivity: float = 0.5,
                            start: dt.date | None = None, end: dt.date | None = None,
                            filters: Mapping[str, Any] | None = None) -> MetricAnomalies:  # fmt: skip
    """Score every period of a governed metric against its own history and group the anomalous
    periods into windows (the pipeline's detector, `analytics.anomalies.detect`)."""
    series = metric_series(settings, metric, grain, start, end, filters)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scored = anomalies.detect(series.history, sensitivity, freq=ANOMALY_FREQ[grain])
    except anomalies.AnomalyError as exc:
        raise ReportError(str(exc)) from None
    windows = [w.as_dict() for w in anomalies.anomaly_windows(scored)]
    for w in windows:
        w.pop("series_id", None)
        w.pop("top_feature", None)
    return MetricAnomalies(series=series, scored=scored, windows=windows, sensitivity=sensitivity)


def weekly_review_facts(settings: Settings) -> dict[str, Report]:
    """The facts behind a weekly business review, as of the data's latest day: the last two months
    of the MRR bridge, the latest 4 weeks against the 4 before for usage and reliability, accounts
    at risk, the top insights and recent anomaly windows."""
    mrr = fetch(settings, """
        select month_start, starting_mrr, new_mrr, expansion_mrr, contraction_mrr, churned_mrr,
               reactivation_mrr, ending_mrr, net_new_mrr, arr, paying_customers_end, new_customers,
               churned_customers, arpa, logo_churn_rate, nrr_12m, grr_12m
        from marts.fct_mrr_summary_monthly order by month_start desc limit 2""",
        ("marts.fct_mrr_summary_monthly",))  # fmt: skip
    usage = fetch(settings, """
        with bounds as (select max(date_day) as last_day from marts.fct_api_metrics_daily),
        periods as (
            select case when date_day > last_day - interval 28 day then 'last_4_weeks' else 'prior_4_weeks' end as period,
                   sum(requests) as requests, sum(errors) as errors,
                   max(latency_p95_ms) as worst_p95_latency_ms, min(date_day) as first_day, max(date_day) as last_day
            from marts.fct_api_metrics_daily, bounds
            where date_day > last_day - interval 56 day
            group by 1)
        select period, first_day, last_day, requests, errors, errors / nullif(requests, 0) as error_rate,
               worst_p95_latency_ms
        from periods order by period""", ("marts.fct_api_metrics_daily",))  # fmt: skip
    risk = fetch(settings, """
        with mrr_now as (
            select customer_id, mrr from marts.fct_mrr_daily
            where date_day = (select max(date_day) from marts.fct_mrr_daily))
        select h.risk_level, count(*) as customers, coalesce(sum(m.mrr), 0) as mrr
        from marts.fct_customer_health_current h left join mrr_now m using (customer_id)
        group by 1 order by case h.risk_level when 'critical' then 1 when 'high' then 2 when 'medium' then 3 else 4 end""",
        ("marts.fct_customer_health_current", "marts.fct_mrr_daily"))  # fmt: skip
    top = insights(settings, limit=5)
    recent = fetch(settings, """
        select series, start, "end", peak_ds, direction, peak_y, peak_expected, deviation
        from analytics.anomaly_windows
        where "end" >= (select max("end") from analytics.anomaly_windows) - interval 30 day
        order by "end" desc limit 10""", ("analytics.anomaly_windows",))  # fmt: skip
    return {"mrr_bridge": mrr, "usage_and_reliability": usage, "customer_risk": risk, "top_insights": top,
            "recent_anomalies": recent}
