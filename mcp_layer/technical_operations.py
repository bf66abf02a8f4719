"""Technical operations: API and system performance, error patterns, capacity outlook and
incidents (the seed's TechnicalOperationsMCP), read-only.

Thin adapters over `analytics.reports.technical_operations`: every number comes from its SQL;
this module shapes arguments and results and turns the analytics layer's errors into tool errors.

Not served, because this platform has no data for them: security monitoring
(monitorSecurityEvents), vulnerability assessment (analyzeVulnerabilities), compliance status
(trackComplianceStatus), and the write actions implementPerformanceOptimizations and
autoTuneConfigurations.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from analytics.reports import technical_operations as reports
from analytics.settings import Settings
from mcp_layer import charts, completions
from mcp_layer.common import (
    READ_ONLY,
    Provenance,
    cell,
    definitions_of,
    grounded_prompt,
    prompt_errors,
    tool_errors,
    with_chart,
)

Severity = Literal["low", "medium", "high", "critical"]


# ---- output models -----------------------------------------------------------------------------


class WindowInfo(BaseModel):
    start: str = Field(description="First day covered (YYYY-MM-DD)")
    end: str = Field(description="Last day covered (YYYY-MM-DD)")
    data_start: str = Field(description="First day the source table holds")
    data_end: str = Field(description="Last day the source table holds")


class ResponseTimes(BaseModel):
    p50_ms: float | None = Field(
        description="p50 latency of all requests in the window, ms: the governed metric p50_latency (merged latency histogram)"
    )
    p95_ms: float | None = Field(
        description="p95 latency of all requests in the window, ms: the governed metric p95_latency (merged latency histogram)"
    )
    p99_ms: float | None = Field(
        description="p99 latency of all requests in the window, ms: the governed metric p99_latency (merged latency histogram)"
    )
    worst_endpoint_day_p95_ms: float | None = Field(
        description="Highest p95 of any endpoint on any day, ms"
    )


class ErrorRates(BaseModel):
    requests: float
    errors: float
    error_rate: float | None = Field(
        description="Errors / requests over the window (ratio of sums)"
    )
    error_rate_breach_days: int = Field(
        description="Endpoint-days whose error rate breached its baseline"
    )
    latency_breach_days: int = Field(
        description="Endpoint-days whose p95 latency breached its baseline"
    )


class Throughput(BaseModel):
    requests: float
    avg_requests_per_day: float | None
    avg_requests_per_second: float | None
    peak_day: str | None = Field(description="Day with the most requests")
    peak_day_requests: float | None


class ApplicationPerformance(BaseModel):
    response_times: ResponseTimes
    error_rates: ErrorRates
    throughput: Throughput
    availability: float | None = Field(
        description="Successful requests / requests over the window (request-based availability, 0-1)"
    )


class ServiceUtilisation(BaseModel):
    service: str
    hours: int = Field(description="Service-hours in the window")
    avg_cpu_pct: float | None
    peak_cpu_pct: float | None
    avg_memory_pct: float | None
    peak_memory_pct: float | None
    avg_utilisation: float | None = Field(description="Mean hourly requests / capacity (0-1)")
    peak_utilisation: float | None
    hours_above_alert: int = Field(description="Hours above the utilisation alert threshold")
    max_instances: int | None


class SystemPerformance(BaseModel):
    cpu_usage: float | None = Field(description="Mean CPU % over all service-hours in the window")
    memory_usage: float | None = Field(
        description="Mean memory % over all service-hours in the window"
    )
    peak_cpu_usage: float | None
    disk_usage: float | None = Field(None, description="Not measured by this platform: always null")
    network_io: float | None = Field(None, description="Not measured by this platform: always null")
    services: list[ServiceUtilisation]


class DatabasePerformance(BaseModel):
    measured: bool = Field(description="False: this platform does not collect database metrics")
    note: str


class EndpointPerformance(BaseModel):
    endpoint: str
    requests: float
    errors: float
    error_rate: float | None
    availability: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    worst_day_latency_p95_ms: float | None
    avg_requests_per_day: float | None
    share_of_requests: float | None
    error_rate_breach_days: int
    latency_breach_days: int


class MetricTrend(BaseModel):
    grain: str = Field(description="day (windows up to 62 days), week (up to 366) or month")
    metrics: list[str]
    rows: list[dict[str, Any]] = Field(
        description="One object per period: period and each governed metric"
    )


class PerformanceMetrics(BaseModel):
    timestamp: str = Field(
        description="Last day of the window (the answer describes the window, not a moment)"
    )
    window: WindowInfo
    endpoint: str | None = Field(
        description="The endpoint the application figures are limited to, if any"
    )
    application: ApplicationPerformance
    system: SystemPerformance
    database: DatabasePerformance
    endpoints: list[EndpointPerformance]
    trend: MetricTrend = Field(
        description="Governed metrics api_requests, error_rate, p95_latency by period"
    )
    provenance: Provenance


class EndpointErrors(BaseModel):
    endpoint: str
    requests: float
    errors: float
    error_rate: float | None
    baseline_error_rate: float | None = Field(
        description="Request-weighted trailing 28-day median error rate"
    )
    share_of_all_errors: float | None
    share_from_daily_worst_account: float | None = Field(
        description="Share of the endpoint's errors made by each day's single worst account"
    )
    error_rate_breach_days: int
    latency_breach_days: int
    worst_day_error_rate: float | None


class AccountErrors(BaseModel):
    organization_id: str
    customer_id: str | None
    customer_name: str | None
    segment: str | None
    requests: float
    errors: float
    error_rate: float | None
    share_of_errors: float | None = Field(
        description="This account's share of all errors in the window"
    )
    platform_error_rate_without_account: float | None = Field(
        description="What the platform error rate would be without this account"
    )
    active_days: int
    days_with_errors: int
    worst_day_error_rate: float | None


class BreachDay(BaseModel):
    date: str
    endpoint: str
    is_error_rate_breach: bool
    is_latency_breach: bool
    error_rate: float | None
    baseline_error_rate: float | None
    error_rate_vs_baseline: float | None
    error_rate_excluding_worst_account: float | None
    share_from_worst_account: float | None
    latency_p95_ms: float | None
    baseline_latency_p95_ms: float | None
    latency_p95_vs_baseline: float | None


class ErrorAnalysis(BaseModel):
    window: WindowInfo
    requests: float
    errors: float
    error_rate: float | None
    worst_account_share: float | None = Field(
        description="Share of all errors made by the single worst account"
    )
    error_rate_without_worst_account: float | None
    by_endpoint: list[EndpointErrors]
    worst_accounts: list[AccountErrors]
    accounts_total: int = Field(description="Accounts that made requests in the window")
    accounts_truncated: bool
    breach_days: list[BreachDay] = Field(
        description="Endpoint-days that breached a baseline, newest first"
    )
    breach_days_total: int
    breach_days_truncated: bool
    provenance: Provenance


class ServiceCapacity(BaseModel):
    service: str
    status: str = Field(
        description="above (already over the threshold), crosses (forecast crosses within the horizon), "
        "may_cross (only the upper bound crosses), ok"
    )
    last_date: str
    last_utilisation: float = Field(description="Peak hourly utilisation on the last day (0-1)")
    threshold: float
    headroom_to_threshold: float = Field(description="threshold - last_utilisation")
    headroom_to_full: float = Field(description="1 - last_utilisation")
    peak_forecast: float | None = Field(
        description="Highest forecast peak utilisation within the horizon"
    )
    peak_forecast_upper: float | None
    forecast_headroom_to_threshold: float | None
    crosses_on: str | None = Field(
        description="First day the forecast reaches the threshold (within the horizon)"
    )
    crosses_on_upper: str | None = Field(
        description="First day the upper bound reaches it (earliest plausible)"
    )
    days_until_crossing: int | None
    days_until_crossing_upper: int | None
    method: str
    forecast_warning: str | None


class ScalingEvent(BaseModel):
    service: str
    status: str
    scale_by: str | None = Field(
        description="Add capacity before this day (the earliest crossing, forecast or upper)"
    )
    days_until: int | None
    likelihood: str = Field(
        description="'already above', 'forecast' (yhat crosses) or 'possible' (upper bound only)"
    )


class ServiceEfficiency(BaseModel):
    service: str
    window_start: str
    window_end: str
    avg_utilisation: float | None
    peak_utilisation: float | None
    avg_cpu_pct: float | None
    peak_cpu_pct: float | None
    avg_instances: float | None
    max_instances: int | None
    cost_usd: float | None
    share_of_cost: float | None
    requests_served: float | None
    cost_per_1000_requests_usd: float | None
    prev_cost_per_1000_requests_usd: float | None = Field(
        description="Same, over the 30 days before the window"
    )
    cost_per_request_change: float | None = Field(
        description="Relative change of cost per request vs before"
    )
    compute_cost_per_instance_day_usd: float | None
    opportunities: list[str] = Field(
        description="Optimisation opportunities found by the documented rules"
    )


class ForecastPoint(BaseModel):
    ds: str
    yhat: float | None
    yhat_lower: float | None
    yhat_upper: float | None


class CapacityForecast(BaseModel):
    horizon_days: int
    services: list[ServiceCapacity] = Field(description="Most urgent first")
    scaling_plan: list[ScalingEvent] = Field(
        description="Services to scale within the horizon, earliest first"
    )
    resource_optimisation: list[ServiceEfficiency] = Field(
        description="Utilisation vs cost, last 30 days of data"
    )
    charted_service: str = Field(
        description="The service drawn in the chart and listed in `forecast`"
    )
    forecast: list[ForecastPoint] = Field(
        description="The charted service's daily forecast within the horizon"
    )
    provenance: Provenance


class ImpactAssessment(BaseModel):
    customers_affected: int = Field(
        description="Organisations with errors on the incident's days and endpoints"
    )
    paying_customers_affected: int
    revenue_impact: float = Field(
        description="MRR (reporting currency) of the affected paying customers on the first day: revenue at "
        "risk, not revenue lost"
    )
    reputation_risk: Literal["low", "medium", "high"]


class Incident(BaseModel):
    id: str
    title: str
    severity: Severity
    status: Literal["open", "resolved"] = Field(
        description="open when its breaches run to the end of the data"
    )
    triage_rank: int | None = Field(
        None, description="1 = handle first (open, then severity, MRR, recency)"
    )
    detected_at: str = Field(description="First breach (UTC)")
    ended_at: str = Field(description="End of the last breach (UTC)")
    duration_hours: float
    hourly_started_at: str | None = Field(
        description="First service-hour breach (localises day breaches)"
    )
    hourly_ended_at: str | None
    affected_services: list[str]
    affected_endpoints: list[str]
    breach_metrics: list[str] = Field(
        description="error_rate, latency_p95, cpu_saturation, cpu_unexplained"
    )
    is_platform_wide: bool
    impact_assessment: ImpactAssessment
    peak_error_rate: float | None
    baseline_error_rate: float | None
    peak_error_rate_vs_baseline: float | None
    peak_latency_p95_ratio: float | None = Field(
        description="Peak p95 latency / its trailing 28-day median"
    )
    peak_cpu_pct: float | None
    peak_unexplained_cpu_points: float | None
    root_cause: str | None = Field(None, description="Not recorded by this platform: always null")
    resolution: str | None = Field(None, description="Not recorded by this platform: always null")


class IncidentList(BaseModel):
    incidents: list[Incident]
    total: int
    truncated: bool
    provenance: Provenance


class TimelineHour(BaseModel):
    hour: str
    service: str
    in_incident: bool
    cpu_pct: float | None
    memory_pct: float | None
    utilisation: float | None
    requests: int | None
    instances: int | None
    above_utilisation_alert: bool | None


class EndpointDay(BaseModel):
    date: str
    endpoint: str
    requests: float
    errors: float
    error_rate: float | None
    baseline_error_rate: float | None
    error_rate_vs_baseline: float | None
    latency_p95_ms: float | None
    baseline_latency_p95_ms: float | None
    latency_p95_vs_baseline: float | None
    is_error_rate_breach: bool | None
    is_latency_breach: bool | None


class AffectedCustomer(BaseModel):
    customer_id: str | None
    organization_id: str
    customer_name: str | None
    segment: str | None
    plan_tier: str | None
    mrr: float = Field(description="MRR on the incident's first day (0 when not paying)")
    requests: float
    errors: float
    error_rate: float | None


class ServiceResponse(BaseModel):
    service: str
    instances_before: int | None = Field(description="Instances in the hour before the incident")
    max_instances_during: int | None
    instances_after: int | None = Field(description="Instances in the hour the incident ended")
    cpu_pct_before: float | None
    peak_cpu_pct_during: float | None
    cpu_pct_after: float | None
    hours_above_alert_during: int


class IncidentReport(BaseModel):
    incident: Incident
    timeline: list[TimelineHour] = Field(
        description="Hourly metrics of the affected services, 2 h either side"
    )
    endpoint_days: list[EndpointDay] = Field(
        description="Daily API metrics of the incident's days (API data is daily)"
    )
    affected_customers: list[AffectedCustomer] = Field(description="Top by MRR")
    customers_total: int
    customers_paying: int
    customers_mrr: float
    customers_truncated: bool
    response: list[ServiceResponse] = Field(
        description="What the services did: instances and CPU around it"
    )
    notes: list[str]
    provenance: Provenance


# ---- helpers -----------------------------------------------------------------------------------


def _iso(value: Any) -> str:
    return str(cell(value))


def _opt_iso(value: Any) -> str | None:
    return None if value is None else _iso(value)


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _window(w: reports.Window) -> WindowInfo:
    return WindowInfo(start=w.start.isoformat(), end=w.end.isoformat(), data_start=w.data_start.isoformat(),
                      data_end=w.data_end.isoformat())  # fmt: skip



def _incident(row: dict[str, Any]) -> Incident:
    return Incident(
        id=row["incident_id"], title=reports.incident_title(row), severity=row["severity"], status=row["status"],
        triage_rank=row.get("triage_rank"), detected_at=_iso(row["started_at"]), ended_at=_iso(row["ended_at"]),
        duration_hours=float(row["duration_hours"]), hourly_started_at=_opt_iso(row["hourly_started_at"]),
        hourly_ended_at=_opt_iso(row["hourly_ended_at"]),
        affected_services=reports.split_list(row["affected_services"]),
        affected_endpoints=reports.split_list(row["affected_endpoints"]),
        breach_metrics=reports.split_list(row["breach_metrics"]), is_platform_wide=bool(row["is_platform_wide"]),
        impact_assessment=ImpactAssessment(customers_affected=_int(row["customers_affected"]),
                                           paying_customers_affected=_int(row["paying_customers_affected"]),
                                           revenue_impact=float(row["mrr_affected"] or 0),
                                           reputation_risk=row["reputation_risk"]),
        peak_error_rate=row["peak_error_rate"], baseline_error_rate=row["baseline_error_rate"],
        peak_error_rate_vs_baseline=row["peak_error_rate_vs_baseline"],
        peak_latency_p95_ratio=row["peak_latency_p95_ratio"], peak_cpu_pct=row["peak_cpu_pct"],
        peak_unexplained_cpu_points=row["peak_unexplained_cpu_points"],
    )  # fmt: skip


def _opportunities(row: dict[str, Any], capacity: dict[str, ServiceCapacity]) -> list[str]:
    """Text for the flags the SQL computed (no arithmetic here: numbers are quoted as given)."""
    out = []
    cap = capacity.get(row["service"])
    if cap is not None and cap.status != "ok":
        out.append(f"scale_up: peak utilisation forecast to reach the {cap.threshold:.0%} threshold "
                   f"({cap.status}, by {cap.crosses_on or cap.crosses_on_upper or cap.last_date})")  # fmt: skip
    if row["is_over_provisioned"]:
        out.append(f"right_size: peak utilisation {row['peak_utilisation']:.0%} and peak CPU "
                   f"{row['peak_cpu_pct']:.0f}% over the last {reports.OPTIMISATION_WINDOW_DAYS} days: fewer "
                   f"instances than {row['max_instances']} could carry the load")  # fmt: skip
    if row["is_unit_cost_rising"]:
        out.append(f"unit_cost_rising: cost per 1,000 requests {row['cost_per_1000_requests_usd']:.4f} USD, "
                   f"{row['cost_per_request_change']:+.0%} vs the previous {reports.OPTIMISATION_WINDOW_DAYS} days")  # fmt: skip
    return out


# ---- registration ------------------------------------------------------------------------------


def register(server: MCPServer, settings: Settings) -> None:
    """Add the technical operations tools and prompt to `server`."""

    @server.tool(title="Performance metrics", annotations=READ_ONLY)
    def performance_metrics(
        start: Annotated[
            dt.date | None, Field(description="First day (YYYY-MM-DD); default: 30 days before end")
        ] = None,
        end: Annotated[
            dt.date | None,
            Field(description="Last day (YYYY-MM-DD); default: the latest day loaded"),
        ] = None,
        endpoint: Annotated[
            str | None,
            Field(
                max_length=100,
                description="Limit the application figures to one API endpoint, e.g. '/v1/query'",
            ),
        ] = None,
    ) -> PerformanceMetrics:
        """System and API performance over a window (default: the last 30 days of data): response
        times (p50/p95/p99), error rate, throughput and availability (successful / all requests),
        CPU and memory per service, a per-endpoint breakdown and a daily/weekly trend of the
        governed metrics api_requests, error_rate and p95_latency. Use it for 'how is the platform
        performing' and performance reports; for error causes use error_analysis, for outages
        list_incidents. Database internals are not measured by this platform."""
        with tool_errors():
            rep = reports.performance(settings, start, end, endpoint)
        s = rep.summary.data.row(0, named=True)
        svc_rows = rep.services.rows()
        total = next((r for r in svc_rows if r["service"] is None), None)
        services = [ServiceUtilisation(
            service=r["service"], hours=_int(r["hours"]), avg_cpu_pct=r["avg_cpu_pct"], peak_cpu_pct=r["peak_cpu_pct"],
            avg_memory_pct=r["avg_memory_pct"], peak_memory_pct=r["peak_memory_pct"],
            avg_utilisation=r["avg_utilisation"], peak_utilisation=r["peak_utilisation"],
            hours_above_alert=_int(r["hours_above_alert"]), max_instances=r["max_instances"],
        ) for r in svc_rows if r["service"] is not None]  # fmt: skip
        endpoints = [EndpointPerformance(**{k: v for k, v in r.items() if k in EndpointPerformance.model_fields
                                            and not k.endswith("_days")},
                                         error_rate_breach_days=_int(r["error_rate_breach_days"]),
                                         latency_breach_days=_int(r["latency_breach_days"]))
                     for r in rep.endpoints.rows()]  # fmt: skip
        trend_rows = [
            {k: cell(v) for k, v in r.items()} for r in rep.trend.data.iter_rows(named=True)
        ]
        return PerformanceMetrics(
            timestamp=rep.window.end.isoformat(), window=_window(rep.window), endpoint=rep.endpoint,
            application=ApplicationPerformance(
                response_times=ResponseTimes(p50_ms=s["latency_p50_ms"], p95_ms=s["latency_p95_ms"],
                                             p99_ms=s["latency_p99_ms"],
                                             worst_endpoint_day_p95_ms=s["worst_endpoint_day_latency_p95_ms"]),
                error_rates=ErrorRates(requests=s["requests"] or 0, errors=s["errors"] or 0, error_rate=s["error_rate"],
                                       error_rate_breach_days=_int(s["error_rate_breach_days"]),
                                       latency_breach_days=_int(s["latency_breach_days"])),
                throughput=Throughput(requests=s["requests"] or 0, avg_requests_per_day=s["avg_requests_per_day"],
                                      avg_requests_per_second=s["avg_requests_per_second"],
                                      peak_day=_opt_iso(s["peak_day"]), peak_day_requests=s["peak_day_requests"]),
                availability=s["availability"],
            ),
            system=SystemPerformance(cpu_usage=total and total["avg_cpu_pct"], memory_usage=total and total["avg_memory_pct"],
                                     peak_cpu_usage=total and total["peak_cpu_pct"], services=services),
            database=DatabasePerformance(measured=False, note=(
                "Query performance, connection pools and index efficiency are not collected by this platform. "
                "The postgres-primary service's CPU, memory and utilisation are under system.services.")),
            endpoints=endpoints,
            trend=MetricTrend(grain=rep.trend_grain, metrics=["api_requests", "error_rate", "p95_latency"],
                              rows=trend_rows),
            provenance=Provenance.of(
                sql=[rep.summary.sql, rep.endpoints.sql, rep.services.sql, rep.trend.sql],
                tables=list(dict.fromkeys([*rep.summary.tables, *rep.services.tables])),
                freshness=rep.summary.freshness, definitions=definitions_of(rep.trend.metrics)),
        )  # fmt: skip

    @server.tool(title="Error analysis", annotations=READ_ONLY)
    def error_analysis(
        start: Annotated[
            dt.date | None, Field(description="First day (YYYY-MM-DD); default: 30 days before end")
        ] = None,
        end: Annotated[
            dt.date | None,
            Field(description="Last day (YYYY-MM-DD); default: the latest day loaded"),
        ] = None,
        limit: Annotated[
            int, Field(ge=1, le=100, description="Most accounts and breach days to list")
        ] = 10,
    ) -> ErrorAnalysis:
        """Where API errors come from over a window (default: the last 30 days of data): error rate
        by endpoint against its baseline, the accounts making the most errors and the share of
        errors each explains (with the platform error rate without it), and the endpoint-days that
        breached their error-rate or latency baseline. Use it to tell a platform problem from one
        noisy customer."""
        with tool_errors():
            rep = reports.errors(settings, start, end, limit)
        acc = rep.accounts.rows()
        first = acc[0] if acc else {}
        accounts_total = _int(first.get("total_accounts"))
        breaches = rep.breaches.rows()
        breach_total = _int(breaches[0]["total_breaches"]) if breaches else 0
        return ErrorAnalysis(
            window=_window(rep.window), requests=first.get("total_requests") or 0,
            errors=first.get("total_errors") or 0, error_rate=first.get("platform_error_rate"),
            worst_account_share=first.get("share_of_errors"),
            error_rate_without_worst_account=first.get("platform_error_rate_without_account"),
            by_endpoint=[EndpointErrors(**{**r, "error_rate_breach_days": _int(r["error_rate_breach_days"]),
                                           "latency_breach_days": _int(r["latency_breach_days"])})
                         for r in rep.endpoints.rows()],
            worst_accounts=[AccountErrors(**{**r, "days_with_errors": _int(r["days_with_errors"])}) for r in acc],
            accounts_total=accounts_total, accounts_truncated=accounts_total > len(acc),
            breach_days=[BreachDay(date=_iso(r["date_day"]), **{k: v for k, v in r.items()
                                                               if k in BreachDay.model_fields and k != "date"})
                         for r in breaches],
            breach_days_total=breach_total, breach_days_truncated=breach_total > len(breaches),
            provenance=Provenance.of_reports(rep.endpoints, rep.accounts, rep.breaches),
        )  # fmt: skip

    @server.tool(title="Capacity forecast and scaling plan", annotations=READ_ONLY)
    async def capacity_forecast(
        ctx: Context,
        service: Annotated[
            str | None,
            Field(
                max_length=100,
                description="One service, e.g. 'query-engine' (default: all services)",
            ),
        ] = None,
        horizon_days: Annotated[
            int,
            Field(
                ge=1,
                le=365,
                description="Days ahead to consider (at most what the "
                "stored forecast covers, usually 90)",
            ),
        ] = 30,
    ) -> Annotated[CallToolResult, CapacityForecast]:
        """Capacity outlook per service: forecast peak utilisation, the first day it (or its upper
        bound) crosses the alert threshold within the horizon, status and headroom; the scaling
        plan (which services to scale by when); and resource optimisation over the last 30 days
        (utilisation vs cloud cost per 1,000 requests: over-provisioned services, rising unit
        cost). Returns a chart of the most urgent (or chosen) service. Uses the pipeline's stored
        forecast (analytics.capacity_forecast)."""
        await ctx.report_progress(0, 3, "reading the capacity forecast")

        def work() -> reports.CapacityReport:
            with tool_errors():
                return reports.capacity(settings, service, horizon_days)

        rep = await anyio.to_thread.run_sync(work)
        await ctx.report_progress(1, 3, "shaping the scaling plan")
        services = [ServiceCapacity(
            service=r["service"], status=r["status"], last_date=_iso(r["last_ds"]),
            last_utilisation=r["last_utilisation"], threshold=r["threshold"],
            headroom_to_threshold=r["headroom_to_threshold"], headroom_to_full=r["headroom_to_full"],
            peak_forecast=r["peak_yhat"], peak_forecast_upper=r["peak_yhat_upper"],
            forecast_headroom_to_threshold=r["forecast_headroom_to_threshold"], crosses_on=_opt_iso(r["crosses_on"]),
            crosses_on_upper=_opt_iso(r["crosses_on_upper"]), days_until_crossing=r["days_until_crossing"],
            days_until_crossing_upper=r["days_until_crossing_upper"], method=r["method"],
            forecast_warning=r["forecast_warning"],
        ) for r in rep.summary.rows()]  # fmt: skip
        likelihood = {"above": "already above", "crosses": "forecast", "may_cross": "possible"}
        plan = [ScalingEvent(service=s.service, status=s.status,
                             scale_by=s.last_date if s.status == "above" else (s.crosses_on_upper or s.crosses_on),
                             days_until=0 if s.status == "above" else (s.days_until_crossing_upper or s.days_until_crossing),
                             likelihood=likelihood[s.status])
                for s in services if s.status != "ok"]  # fmt: skip
        by_service = {s.service: s for s in services}
        optimisation = [ServiceEfficiency(
            **{k: v for k, v in r.items() if k in ServiceEfficiency.model_fields and not k.startswith("window")},
            window_start=_iso(r["window_start"]), window_end=_iso(r["window_end"]),
            opportunities=_opportunities(r, by_service),
        ) for r in rep.optimisation.rows()]  # fmt: skip
        points = [ForecastPoint(ds=_iso(r["ds"]), yhat=r["yhat"], yhat_lower=r["yhat_lower"],
                                yhat_upper=r["yhat_upper"]) for r in rep.forecast.rows()]  # fmt: skip
        model = CapacityForecast(horizon_days=horizon_days, services=services, scaling_plan=plan,
                                 resource_optimisation=optimisation, charted_service=rep.charted_service,
                                 forecast=points,
                                 provenance=Provenance.of_reports(rep.summary, rep.forecast, rep.history,
                                                                  rep.optimisation))  # fmt: skip
        await ctx.report_progress(2, 3, "rendering the chart")
        charted = by_service[rep.charted_service]
        png = await anyio.to_thread.run_sync(lambda: charts.forecast_png(
            rep.history.data, rep.forecast.data,
            f"{rep.charted_service}: peak utilisation, {horizon_days}-day forecast (threshold {charted.threshold:.0%})"))  # fmt: skip
        await ctx.report_progress(3, 3, "done")
        urgent = ", ".join(f"{e.service} ({e.likelihood}, by {e.scale_by})" for e in plan) or "none"
        summary = (f"Capacity over {horizon_days} days for {len(services)} service(s); to scale: {urgent}. "
                   f"Chart: {rep.charted_service}.")  # fmt: skip
        return with_chart(model, summary, png)

    @server.tool(title="List incidents", annotations=READ_ONLY)
    def list_incidents(
        severity: Annotated[
            Severity | None, Field(description="Only incidents of this severity")
        ] = None,
        since: Annotated[
            dt.date | None, Field(description="Started on or after this day (YYYY-MM-DD)")
        ] = None,
        until: Annotated[
            dt.date | None, Field(description="Started on or before this day (YYYY-MM-DD)")
        ] = None,
        limit: Annotated[int, Field(ge=1, le=100, description="Most incidents to return")] = 20,
    ) -> IncidentList:
        """Incidents detected from error-rate, latency and CPU breaches, ranked for triage (open
        first, then severity, then MRR affected, then most recent), each with severity, status,
        affected services and endpoints and an impact assessment (customers affected, MRR of the
        affected paying customers, reputation risk). Use incident_report for one incident's
        timeline and affected customers."""
        with tool_errors():
            rep = reports.incidents(settings, severity, since, until, limit)
        rows = rep.rows()
        total = _int(rows[0]["total"]) if rows else 0
        return IncidentList(incidents=[_incident(r) for r in rows], total=total, truncated=total > len(rows),
                            provenance=Provenance.of_reports(rep))  # fmt: skip

    @server.tool(title="Incident report", annotations=READ_ONLY)
    def incident_report(
        incident_id: Annotated[
            str,
            Field(
                min_length=1,
                max_length=64,
                description="Incident id from list_incidents, e.g. 'INC-20260612-00'",
            ),
        ],
        customers_limit: Annotated[
            int, Field(ge=1, le=100, description="Most affected customers to list")
        ] = 10,
    ) -> IncidentReport:
        """One incident in full: its facts and impact, the hourly timeline of CPU, memory,
        utilisation and instances of the affected services (2 hours either side), the daily API
        error rate and latency against baseline on its days, the affected customers ranked by MRR,
        and the response facts (instances and CPU before, during and after). Unknown ids are
        answered with the closest valid ones."""
        with tool_errors():
            rep = reports.incident(settings, incident_id, customers_limit)
        inc = _incident(rep.incident.data.row(0, named=True))
        customers = rep.customers.rows()
        total = _int(customers[0]["total"]) if customers else 0
        notes = [
            "API metrics are daily: endpoint_days cover whole UTC days; the hourly timeline is service metrics.",
            (
                "Affected customers: organisations with at least one API error on the incident's days (any endpoint), "
                "MRR on the first day; for incidents limited to some endpoints this list is an upper bound of "
                "impact_assessment.customers_affected."
            ),
            "Root cause and resolution are not recorded by this platform; breach_metrics say what was observed.",
        ]
        return IncidentReport(
            incident=inc,
            timeline=[TimelineHour(hour=_iso(r["metric_hour"]), service=r["service"], in_incident=bool(r["in_incident"]),
                                   cpu_pct=r["cpu_pct"], memory_pct=r["memory_pct"], utilisation=r["utilisation"],
                                   requests=r["requests"], instances=r["instances"],
                                   above_utilisation_alert=r["is_above_utilisation_alert"])
                      for r in rep.timeline.rows()],
            endpoint_days=[EndpointDay(date=_iso(r["date_day"]), **{k: v for k, v in r.items()
                                                                   if k in EndpointDay.model_fields and k != "date"})
                           for r in rep.endpoint_days.rows()],
            affected_customers=[AffectedCustomer(**{k: v for k, v in r.items() if k in AffectedCustomer.model_fields})
                                for r in customers],
            customers_total=total, customers_paying=_int(customers[0]["total_paying"]) if customers else 0,
            customers_mrr=float(customers[0]["total_mrr"] or 0) if customers else 0.0,
            customers_truncated=total > len(customers),
            response=[ServiceResponse(**{**r, "hours_above_alert_during": _int(r["hours_above_alert_during"])})
                      for r in rep.response.rows()],
            notes=notes,
            provenance=Provenance.of_reports(rep.incident, rep.timeline, rep.endpoint_days, rep.customers,
                                             rep.response),
        )  # fmt: skip

    @server.prompt(title="Incident summary")
    def incident_summary(
        incident_id: Annotated[
            str, Field(description="Incident id from list_incidents, e.g. 'INC-20260612-00'")
        ],
    ) -> str:
        """Write an incident summary (post-mortem draft) grounded in the warehouse's facts about one
        incident: impact, timeline, affected customers and the response."""
        with prompt_errors():
            rep = reports.incident(settings, incident_id, customers_limit=10)
        row = rep.incident.data.row(0, named=True)
        title = reports.incident_title(row)
        task = (
            f"Write an incident summary for {incident_id} ({title}) for engineering and customer-facing teams: "
            "one-paragraph summary, impact (customers affected, MRR of affected paying customers, reputation "
            "risk), timeline (detection, peak, end; use the hourly service metrics and the daily API metrics), "
            "affected customers to contact (top by MRR), the response observed (instances and CPU before, during, "
            "after), and open questions.\n"
            "The root cause is not recorded: say what the breach metrics show (breach_metrics, peaks vs baseline) "
            "and list the cause as an open question rather than guessing. The revenue impact is MRR at risk (the "
            "affected paying customers' MRR), not revenue lost. Status is 'open' only when the breaches run to the "
            "end of the loaded data."
        )
        facts = {
            "incident": rep.incident,
            "hourly_service_timeline": rep.timeline,
            "daily_endpoint_metrics": rep.endpoint_days,
            "affected_customers_top_by_mrr": rep.customers,
            "service_response": rep.response,
        }
        return grounded_prompt(task=task, facts=facts)

    def _incident_ids(partial: str) -> list[str]:
        try:
            return reports.incident_ids(settings)
        except Exception:  # noqa: BLE001 - completion is best effort
            return []

    completions.provide(server, "incident_id", _incident_ids)
