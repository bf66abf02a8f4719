"""Business intelligence: the governed metric catalogue and queries, dimension values, insights,
live forecasts and anomaly scans of any metric, model quality and the health check; it also
mounts the dashboards, the safe SQL tool and the shared resources.

Thin adapters over `analytics.metrics` and `analytics.reports`: they shape arguments and results
for an AI assistant and turn the analytics layer's errors into tool errors. No arithmetic.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.apps import Apps
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from analytics import metrics as metric_layer
from analytics.anomalies import warmup_periods
from analytics.metrics.query import MAX_LIMIT
from analytics.reports import business_intelligence as reports
from analytics.settings import Settings
from analytics.warehouse import freshness, run_query
from mcp_layer import charts, dashboards, resources, sql_tool, versions
from mcp_layer.common import (
    READ_ONLY,
    FreshnessInfo,
    Provenance,
    cell,
    definitions_of,
    grounded_prompt,
    json_rows,
    jsonable,
    prompt_errors,
    tables_in,
    tool_errors,
    with_chart,
)

Scalar = str | int | float | bool
Grain = Literal["day", "week", "month", "quarter", "year"]
SeriesGrain = Literal["day", "week", "month"]


# ---- output models -----------------------------------------------------------------------------


class MetricSummary(BaseModel):
    name: str = Field(description="Metric name to pass to query_metrics")
    label: str
    description: str
    type: str = Field(description="MetricFlow metric type: simple, ratio, derived, cumulative, conversion")
    dimensions: list[str] = Field(description="Dimensions it can be grouped or filtered by (qualified names)")
    grains: list[str] = Field(description="Time grains it can be queried at")


class MetricCatalog(BaseModel):
    metrics: list[MetricSummary]


class MetricQueryResult(BaseModel):
    metrics: list[str]
    grain: str
    dimensions: list[str]
    columns: list[str] = Field(description="`period`, one column per dimension, one per metric")
    rows: list[dict[str, Any]] = Field(description="One object per period (and dimension values)")
    row_count: int
    data_through: str | None = Field(description="The last day of data; periods end at the last one "
                                                 "complete on that day unless include_partial")
    partial_period: str | None = Field(description="Start of the last row's period when it is incomplete "
                                                   "(only with include_partial); its value is to date")
    provenance: Provenance


class DimensionValue(BaseModel):
    value: str | None
    rows: int = Field(description="Rows of the source table with this value")


class DimensionValuesResult(BaseModel):
    dimension: str = Field(description="The qualified dimension name (use it in filters)")
    table: str = Field(description="Table the values come from")
    values: list[DimensionValue]
    total: int = Field(description="Distinct values in the table (more than listed when truncated)")
    truncated: bool
    provenance: Provenance


class DataPoint(BaseModel):
    label: str
    period: str | None = None
    value: float | None = None


class Impact(BaseModel):
    financial: float | None = Field(None, description="Estimated financial impact (USD, signed)")
    operational: float | None = Field(None, description="0-1 operational impact")
    strategic: float | None = Field(None, description="0-1 strategic impact")


class Insight(BaseModel):
    id: str
    rank: int
    type: Literal["opportunity", "risk", "trend", "anomaly"]
    priority: Literal["low", "medium", "high", "critical"]
    title: str
    description: str
    data_points: list[DataPoint]
    recommendations: list[str]
    confidence: float = Field(description="0-1")
    impact: Impact
    rule: str = Field(description="The rule that produced it (see evidence for its numbers)")
    evidence: dict[str, Any]


class InsightList(BaseModel):
    insights: list[Insight]
    total: int = Field(description="Insights matching the filters (more than listed when truncated)")
    truncated: bool
    provenance: Provenance


class ForecastPoint(BaseModel):
    ds: str
    yhat: float
    yhat_lower: float
    yhat_upper: float


class HistoryPoint(BaseModel):
    ds: str
    y: float


class BacktestMethod(BaseModel):
    method: str
    mae: float | None
    smape: float | None
    mase: float | None = Field(description="Below 1 beats the seasonal naive benchmark")
    coverage: float | None = Field(description="Share of actuals inside the prediction interval")


class Forecast(BaseModel):
    metric: str
    grain: str
    horizon: int
    method: str = Field(description="Model used (auto picks the lowest backtest MASE)")
    interval_level: float
    history: list[HistoryPoint]
    forecast: list[ForecastPoint]
    backtest: list[BacktestMethod]
    warnings: list[str]
    provenance: Provenance


class AnomalyPoint(BaseModel):
    ds: str
    value: float
    expected: float
    lower: float | None
    upper: float | None
    score: float | None = Field(description="Robust z-score; anomalous above the sensitivity threshold")


class AnomalyWindow(BaseModel):
    start: str
    end: str
    periods: int
    peak_ds: str
    peak_score: float
    direction: Literal["up", "down"]
    peak_value: float | None
    peak_expected: float | None
    deviation: float | None = Field(description="(value - expected) / |expected| at the peak")


class AnomalyReport(BaseModel):
    metric: str
    grain: str
    sensitivity: float
    periods: int = Field(description="Periods in the series (scored or not)")
    points_scored: int = Field(description="Periods with a score (not in the warm-up, value present)")
    warmup_periods: int = Field(description="The first periods of the series are not scored: the model needs "
                                            "this much history (trend window, weekly cycles)")  # fmt: skip
    first_scored: str | None = Field(description="First period with a score")
    anomalies: list[AnomalyPoint]
    windows: list[AnomalyWindow] = Field(description="Runs of anomalous periods, oldest first")
    provenance: Provenance


class ModelMetric(BaseModel):
    model: str
    subject: str
    metric: str
    value: float | None


class ModelPerformance(BaseModel):
    metrics: list[ModelMetric]
    forecast_backtests: list[dict[str, Any]] = Field(
        description="Per forecast series and method: MAE, sMAPE, MASE, coverage, is_chosen"
    )
    provenance: Provenance


class HealthReport(BaseModel):
    status: str = Field(description="ok, degraded (stale or partly loaded) or down (warehouse unreachable)")
    warehouse_kind: str
    warehouse_reachable: bool
    warehouse_error: str | None = None
    metrics_available: int | None = Field(None, description="Governed metrics in the semantic layer")
    freshness: FreshnessInfo | None = None
    versions: dict[str, str | None]


# ---- helpers -----------------------------------------------------------------------------------



def _metric_provenance(result: metric_layer.MetricResult) -> Provenance:
    return Provenance.of(sql=[result.sql], tables=tables_in(result.sql), freshness=result.freshness,
                         definitions=definitions_of(result.metrics))  # fmt: skip


def _iso(value: Any) -> str:
    return str(cell(value))


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _thread_progress(ctx: Context) -> reports.Progress:
    """A progress callback usable from a worker thread (reports to the client's progress token)."""

    def report(done: float, total: float, message: str) -> None:
        anyio.from_thread.run(ctx.report_progress, done, total, message)

    return report


def _figure(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:,.4g}"


def _anomaly_summary(report: AnomalyReport, max_windows: int = 10) -> str:
    """The detect_anomalies text: counts, each window with its dates, direction and peak against
    the expected value (the most recent `max_windows`), and the warm-up that was not scored."""
    unit = report.grain
    lines = [f"{report.metric} by {unit}: {len(report.anomalies)} anomalous {unit}(s) in {len(report.windows)} "
             f"window(s); {report.points_scored} of {report.periods} {unit}s scored"
             + (f" from {report.first_scored[:10]}" if report.first_scored else "") + "."]  # fmt: skip
    shown = report.windows[-max_windows:]
    if len(report.windows) > len(shown):
        lines.append(f"The {len(shown)} most recent windows (all {len(report.windows)} in `windows`):")
    for w in shown:
        dates = w.start[:10] if w.start == w.end else f"{w.start[:10]} to {w.end[:10]}"
        change = f" ({w.deviation:+.0%})" if w.deviation is not None else ""
        lines.append(f"- {dates} ({w.periods} {unit}(s)): {report.metric} {w.direction}, peak {w.peak_ds[:10]} "
                     f"{_figure(w.peak_value)} vs expected {_figure(w.peak_expected)}{change}, "
                     f"score {w.peak_score:.1f}")  # fmt: skip
    lines.append(f"The first {report.warmup_periods} {unit}s of the series are not scored: the model needs "
                 f"{report.warmup_periods} {unit}s of history.")  # fmt: skip
    return "\n".join(lines)


# ---- registration ------------------------------------------------------------------------------


def register_apps(apps: Apps, settings: Settings) -> None:
    """The dashboard tool is an MCP App (its HTML view is a `ui://` resource)."""
    dashboards.register_apps(apps, settings)


def register(server: MCPServer, settings: Settings) -> None:
    """Add the business intelligence tools, resources and prompt to `server`."""
    dashboards.register(server, settings)
    sql_tool.register(server, settings)
    resources.register(server, settings)

    @server.tool(title="List governed metrics", annotations=READ_ONLY)
    def list_metrics() -> MetricCatalog:
        """List every governed business metric (MRR, ARR, customers, churn, health, ...) with its
        description, the dimensions it can be grouped or filtered by and its time grains.
        Call this first to find the exact metric and dimension names for query_metrics."""
        with tool_errors():
            items = metric_layer.list_metrics(settings)
        return MetricCatalog(metrics=[
            MetricSummary(name=m.name, label=m.label, description=m.description, type=m.type,
                          dimensions=list(m.dimensions), grains=list(m.grains))
            for m in items
        ])  # fmt: skip

    @server.tool(title="Query governed metrics", annotations=READ_ONLY)
    def query_metrics(
        metrics: Annotated[list[str], Field(min_length=1, max_length=20,
            description="Metric names from list_metrics, e.g. ['mrr', 'paying_customers']")],
        grain: Annotated[Grain, Field(description="Time grain of the `period` column")] = "month",
        dimensions: Annotated[list[str] | None, Field(max_length=5,
            description="Dimensions to group by, shared by all requested metrics (qualified like "
                        "'customer_month__segment' or an unambiguous short name like 'segment')")] = None,
        start: Annotated[dt.date | None, Field(description="First day of the range (YYYY-MM-DD), inclusive")] = None,
        end: Annotated[dt.date | None, Field(description="Last day of the range (YYYY-MM-DD), inclusive")] = None,
        filters: Annotated[dict[str, Scalar | list[Scalar]] | None,
            Field(description="Equality filters: dimension name -> value, or list of values (IN). "
                              "Valid values: list_dimension_values")] = None,
        order: Annotated[list[str] | None, Field(description="Output columns to sort by ('period', a dimension, "
                                                             "a metric); prefix '-' for descending")] = None,
        limit: Annotated[int | None, Field(ge=1, le=MAX_LIMIT, description="Maximum rows to return")] = None,
        include_partial: Annotated[bool, Field(description="Also return the current, incomplete period "
                                                           "(counted to the last day of data)")] = False,
    ) -> MetricQueryResult:
        """Get the values of one or more governed metrics over time, optionally grouped by
        dimensions and filtered. Use for any business number (revenue, MRR, customers, churn,
        health, usage, pipeline, ...). Returns the rows plus provenance: the SQL that ran, the
        metric definitions and how fresh the data is, so the answer can be cited. Unknown names
        are answered with the closest valid ones."""
        with tool_errors():
            result = metric_layer.query(metrics, grain=grain, dimensions=dimensions or (), start=start, end=end,
                                        filters=filters, order=order or (), limit=limit, settings=settings,
                                        include_partial=include_partial)  # fmt: skip
        rows = json_rows(result.data.to_dicts())
        return MetricQueryResult(metrics=list(metrics), grain=result.grain, dimensions=list(result.dimensions),
                                 columns=result.data.columns, rows=rows, row_count=len(rows),
                                 data_through=_iso(result.data_through) if result.data_through else None,
                                 partial_period=_iso(result.partial_period) if result.partial_period else None,
                                 provenance=_metric_provenance(result))  # fmt: skip

    @server.tool(title="List the values of a dimension", annotations=READ_ONLY)
    def list_dimension_values(
        dimension: Annotated[str, Field(min_length=1, max_length=200,
            description="Dimension name from list_metrics (qualified, or short like 'segment')")],
        metric: Annotated[str | None, Field(description="Resolve the dimension among this metric's "
                                                        "dimensions (makes short names unambiguous)")] = None,
        search: Annotated[str | None, Field(max_length=100,
            description="Only values containing this text (case-insensitive)")] = None,
        limit: Annotated[int, Field(ge=1, le=1000, description="Maximum values to return")] = 100,
    ) -> DimensionValuesResult:
        """List the distinct values of a metric dimension (segments, plan tiers, endpoints, lead
        sources, ...) with how often each occurs, most frequent first. Use it to write exact
        filters for query_metrics."""
        with tool_errors():
            result = metric_layer.dimension_values(dimension, metric=metric, search=search, limit=limit,
                                                   settings=settings)  # fmt: skip
        values = [DimensionValue(value=r["value"], rows=r["rows"]) for r in result.data.to_dicts()]
        return DimensionValuesResult(
            dimension=result.dimension, table=result.table, values=values, total=result.total,
            truncated=result.total > len(values),
            provenance=Provenance.of(sql=[result.sql], tables=[result.table], freshness=result.freshness),
        )  # fmt: skip

    @server.tool(title="Business insights", annotations=READ_ONLY)
    def get_insights(
        types: Annotated[list[Literal["opportunity", "risk", "trend", "anomaly"]] | None,
            Field(description="Only these insight types (default all)")] = None,
        min_priority: Annotated[Literal["low", "medium", "high", "critical"],
            Field(description="Lowest priority to include")] = "low",
        limit: Annotated[int, Field(ge=1, le=100, description="Maximum insights to return")] = 10,
    ) -> InsightList:
        """The ranked business insights of the latest pipeline run: opportunities (upsell),
        risks (at-risk revenue, payment failures), trends (growth, forecasts) and anomalies, each
        with its data points, recommendations, confidence and estimated impact. Start here for
        'what should I look at?' questions."""
        with tool_errors():
            report = reports.insights(settings, types=types or (), min_priority=min_priority, limit=limit)
        items = []
        for row in report.rows():
            items.append(Insight(
                id=str(row["id"]), rank=int(row["rank"]), type=row["type"], priority=row["priority"],  # type: ignore[arg-type]
                title=str(row["title"]), description=str(row["description"]),
                data_points=[DataPoint(**jsonable(p)) for p in reports.parse_json_list(row["data_points"])
                             if isinstance(p, dict)],
                recommendations=[str(r) for r in reports.parse_json_list(row["recommendations"])],
                confidence=float(row["confidence"] or 0),  # type: ignore[arg-type]
                impact=Impact(financial=_num(row["impact_financial"]), operational=_num(row["impact_operational"]),
                              strategic=_num(row["impact_strategic"])),
                rule=str(row["rule"]), evidence=jsonable(reports.parse_json_object(row["evidence"])),
            ))  # fmt: skip
        total = int(report.data["total"][0]) if report.data.height else 0
        return InsightList(insights=items, total=total, truncated=total > len(items),
                           provenance=Provenance.of_reports(report))  # fmt: skip

    @server.tool(title="Forecast a metric", annotations=READ_ONLY)
    async def forecast_metric(
        ctx: Context,
        metric: Annotated[str, Field(min_length=1, description="Governed metric name, e.g. 'mrr'")],
        horizon: Annotated[int, Field(ge=1, le=36, description="Periods ahead to forecast")] = 6,
        grain: Annotated[SeriesGrain, Field(description="Grain of the series")] = "month",
        method: Annotated[Literal["auto", "ensemble", "theta", "prophet", "ets", "fast_ets", "seasonal_naive"],
            Field(description="auto = the calibrated ensemble (mean of seasonal naive, theta and two ETS "
                              "models), which beat statsforecast's AutoETS on the M1 and tourism sets")] = "auto",
        start: Annotated[dt.date | None, Field(description="Use history from this day on (default: the "
                                                           "last 36 months / 104 weeks / 365 days)")] = None,
        interval_level: Annotated[float, Field(ge=50, le=99, description="Prediction interval, percent")] = 80,
    ) -> Annotated[CallToolResult, Forecast]:
        """Forecast a governed metric (MRR, revenue, customers, API requests, ...) with prediction
        intervals, after a rolling-origin backtest of the candidate models (reported with MAE,
        sMAPE, MASE and interval coverage so the forecast's quality is visible). Returns a chart.
        Takes seconds (reports progress). For revenue scenarios use forecast_revenue."""
        progress = _thread_progress(ctx)

        def work() -> reports.MetricForecast:
            with tool_errors():
                return reports.forecast_metric(settings, metric, horizon=horizon, grain=grain, method=method,
                                               start=start, level=interval_level, progress=progress)  # fmt: skip

        result = await anyio.to_thread.run_sync(work)
        history = [HistoryPoint(ds=_iso(r["ds"]), y=r["y"]) for r in result.series.history.to_dicts()]
        points = [ForecastPoint(ds=_iso(r["ds"]), yhat=r["yhat"], yhat_lower=r["yhat_lower"],
                                yhat_upper=r["yhat_upper"]) for r in result.forecast.to_dicts()]  # fmt: skip
        backtest = [BacktestMethod(method=m["method"], mae=m.get("mae"), smape=m.get("smape"), mase=m.get("mase"),
                                   coverage=m.get("coverage")) for m in result.backtest.get("metrics", [])]  # fmt: skip
        model = Forecast(metric=metric, grain=grain, horizon=horizon, method=result.method,
                         interval_level=interval_level, history=history, forecast=points, backtest=backtest,
                         warnings=result.warnings, provenance=_metric_provenance(result.series.result))  # fmt: skip
        png = charts.forecast_png(result.series.history, result.forecast, f"{metric} forecast ({result.method})")
        last = points[-1] if points else None
        # caveats first: an assistant repeats the first line it reads
        caveats = "".join(f"CAUTION: {w}\n" for w in result.warnings if "backtest" in w or "unmeasured" in w)
        summary = (caveats + f"{metric}: {horizon}-{grain} forecast with {result.method}"
                   + (f"; {last.ds}: {last.yhat:,.2f} ({interval_level:g}% interval {last.yhat_lower:,.2f}"
                      f" to {last.yhat_upper:,.2f})" if last else ""))  # fmt: skip
        return with_chart(model, summary, png)

    @server.tool(title="Detect anomalies in a metric", annotations=READ_ONLY)
    def detect_anomalies(
        metric: Annotated[str, Field(min_length=1, description="Governed metric name, e.g. 'api_requests'")],
        grain: Annotated[SeriesGrain, Field(description="Grain of the series to scan")] = "day",
        sensitivity: Annotated[float, Field(ge=0, le=1, description="0 flags least, 1 flags most (default 0.5 "
                                                                   "= 5 robust sigmas)")] = 0.5,
        start: Annotated[dt.date | None, Field(description="First day to scan (YYYY-MM-DD)")] = None,
        end: Annotated[dt.date | None, Field(description="Last day to scan (YYYY-MM-DD)")] = None,
        filters: Annotated[dict[str, Scalar | list[Scalar]] | None,
            Field(description="Equality filters on the metric's dimensions, as in query_metrics")] = None,
    ) -> Annotated[CallToolResult, AnomalyReport]:
        """Scan a governed metric for anomalies: each period is compared with what its own history
        (trend, weekly and yearly seasonality) predicts, and runs of anomalous periods are grouped
        into windows with their dates, peak and direction. The first periods of the series (14 days,
        4 weeks or 2 months) are not scored: the model needs that much history. Returns a chart of
        the expected range with the anomalies marked. For the anomalies the daily pipeline already
        found, read the `anomalies://latest` resource."""
        with tool_errors():
            result = reports.detect_metric_anomalies(settings, metric, grain=grain, sensitivity=sensitivity,
                                                     start=start, end=end, filters=filters)  # fmt: skip
        scored = result.scored
        flagged = scored.filter(scored["is_anomaly"])
        points = [AnomalyPoint(ds=_iso(r["ds"]), value=r["y"], expected=r["expected"], lower=r["lower"],
                               upper=r["upper"], score=r["score"]) for r in flagged.to_dicts()]  # fmt: skip
        windows = [AnomalyWindow(start=_iso(w["start"]), end=_iso(w["end"]), periods=w["periods"],
                                 peak_ds=_iso(w["peak_ds"]), peak_score=w["peak_score"], direction=w["direction"],
                                 peak_value=w["peak_y"], peak_expected=w["peak_expected"],
                                 deviation=w["deviation"]) for w in result.windows]  # fmt: skip
        with_score = scored.filter(scored["score"].is_not_null())
        model = AnomalyReport(metric=metric, grain=grain, sensitivity=sensitivity, periods=scored.height,
                              points_scored=with_score.height, warmup_periods=warmup_periods(grain),
                              first_scored=_iso(with_score["ds"][0]) if with_score.height else None,
                              anomalies=points, windows=windows,
                              provenance=_metric_provenance(result.series.result))  # fmt: skip
        png = charts.anomaly_png(scored, f"{metric} by {grain}: anomalies at sensitivity {sensitivity:g}")
        return with_chart(model, _anomaly_summary(model), png)

    @server.tool(title="Model performance", annotations=READ_ONLY)
    def model_performance(
        model: Annotated[str | None, Field(description="One model, e.g. 'churn', 'lead_scoring', "
                                                       "'forecast:prophet' (default all)")] = None,
    ) -> ModelPerformance:
        """How good the platform's predictive models are, from their latest evaluation: churn and
        lead-scoring ROC AUC, PR AUC and Brier score on a held-out later period; forecast MAE,
        sMAPE, MASE and interval coverage from rolling-origin backtests. Use it to judge how much
        to trust a prediction."""
        with tool_errors():
            metrics_report = reports.model_performance(settings, model)
            backtests = reports.forecast_backtests(settings)
        rows = [ModelMetric(**r) for r in metrics_report.rows()]
        bt = json_rows(backtests) if model is None or model.startswith("forecast") else []
        return ModelPerformance(metrics=rows, forecast_backtests=bt,
                                provenance=Provenance.of_reports(metrics_report, backtests))  # fmt: skip

    @server.prompt(title="Weekly business review")
    def weekly_business_review(
        audience: Annotated[str, Field(description="Who reads the review, e.g. 'leadership team'")] = "leadership team",
    ) -> str:
        """Write a weekly business review grounded in the warehouse: MRR bridge, usage and
        reliability, customer risk, top insights and recent anomalies, with the SQL behind them."""
        with prompt_errors():
            facts = reports.weekly_review_facts(settings)
        return grounded_prompt(
            task=(f"Write a concise weekly business review for the {audience}: headline (MRR, ARR, customers), "
                  "what moved and why (the MRR bridge), usage and reliability, customers at risk, the top "
                  "opportunities and risks with recommended actions, and anything anomalous."),
            facts=facts,
        )

    @server.tool(title="Health check", annotations=READ_ONLY)
    def health_check() -> HealthReport:
        """Check the platform before trusting its numbers: whether the warehouse answers, when each
        source (stripe, supabase, usage) was last loaded, when the metric models were last built,
        and the software versions serving the answers."""
        reachable, error, count, fresh = True, None, None, None
        try:
            run_query(settings, "select 1")
        except Exception as exc:  # noqa: BLE001 - reported to the caller, not raised
            reachable, error = False, f"{type(exc).__name__}: {exc}"
        if reachable:
            fresh = FreshnessInfo.of(freshness(settings))
            try:
                count = len(metric_layer.list_metrics(settings))
            except Exception as exc:  # noqa: BLE001
                error = f"semantic layer unavailable: {exc}"
        loaded = fresh is not None and all(fresh.sources_loaded_at.values()) and fresh.models_built_at
        status = "down" if not reachable else ("ok" if loaded and count else "degraded")
        return HealthReport(status=status, warehouse_kind=settings.warehouse_kind, warehouse_reachable=reachable,
                            warehouse_error=error, metrics_available=count, freshness=fresh,
                            versions=versions())  # fmt: skip
