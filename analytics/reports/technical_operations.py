"""Technical operations reports: API performance, error patterns, capacity and incidents.

Every number is computed by the SQL here over the technical-operations marts
(`fct_api_metrics_daily`, `fct_api_metrics_account_daily`, `fct_service_utilisation_hourly`,
`fct_service_capacity_daily`, `fct_cost_per_request_daily`, `fct_incident_candidates`) and the
pipeline's capacity forecast (`analytics.capacity_forecast`, `analytics.capacity_summary`). The
Python here validates arguments, resolves default windows and names rows.

Definitions used (beyond the marts' own):
- availability = successful requests / requests over the window (request-based availability).
- response times of a window = the governed metrics p50/p95/p99_latency over the window: their
  expressions (semantic manifest: percentiles interpolated from merged latency-histogram buckets)
  evaluated over the window's summed bucket counts, never an average of daily percentiles; plus
  the worst endpoint-day p95 (the mart's own, from the same rule).
- incident status: `open` when the incident's last breach runs to the end of the data (the
  latest service hour or API day loaded), else `resolved`.
- incident reputation risk: `high` when the platform-wide error rate breached, or a critical
  incident was customer visible (error-rate or latency breach); `medium` for other high or
  critical incidents and for any customer-visible breach; `low` otherwise.
- incident revenue impact = MRR (reporting currency) of the affected paying customers on the
  incident's first day: revenue at risk, not revenue lost.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from analytics import metrics as metric_layer
from analytics.metrics.query import semantic_layer
from analytics.settings import Settings

from .base import Report, ReportError, closest, fetch

SEVERITIES = ("low", "medium", "high", "critical")
DEFAULT_WINDOW_DAYS = 30
OPTIMISATION_WINDOW_DAYS = 30
# a service whose peak hourly utilisation and peak CPU stay under these over the optimisation
# window is flagged as over-provisioned (candidate for fewer instances)
OVER_PROVISIONED_PEAK_UTILISATION = 0.4
OVER_PROVISIONED_PEAK_CPU_PCT = 50.0
# cost per 1,000 requests up by more than this fraction vs the previous window is flagged
UNIT_COST_RISE = 0.10
BREACH_METRIC_LABELS = {
    "error_rate": "error-rate",
    "latency_p95": "p95-latency",
    "cpu_saturation": "CPU saturation",
    "cpu_unexplained": "unexplained CPU",
}


# response-time columns -> the governed metric each one is
LATENCY_METRICS = {
    "latency_p50_ms": "p50_latency",
    "latency_p95_ms": "p95_latency",
    "latency_p99_ms": "p99_latency",
}
# input metric -> the fct_api_metrics_daily column its measure sums (others: same name)
_MART_COLUMN = {"api_requests": "requests"}

# ---- shared helpers ----------------------------------------------------------------------------


def _in(values: Sequence[object]) -> str:
    return ", ".join("?" * len(values))


@dataclass(frozen=True)
class Window:
    start: dt.date
    end: dt.date
    data_start: dt.date
    data_end: dt.date


def _coverage(settings: Settings, table: str, column: str) -> tuple[dt.date, dt.date]:
    rep = fetch(
        settings,
        f"select min({column}) as first_day, max({column}) as last_day from {table}",
        (table,),
    )
    first, last = rep.data.row(0)
    if first is None:
        raise ReportError(f"{table} is empty: run the pipeline (`psz demo`) first")
    return first, last


def resolve_window(settings: Settings, start: dt.date | None, end: dt.date | None,
                   table: str = "marts.fct_api_metrics_daily", column: str = "date_day",
                   default_days: int = DEFAULT_WINDOW_DAYS) -> Window:  # fmt: skip
    """The window asked for, defaulting to the last `default_days` days of data; refuses
    inverted windows and windows with no data."""
    if start and end and start > end:
        raise ReportError(f"start {start} is after end {end}: swap them")
    first, last = _coverage(settings, table, column)
    end_d = end or last
    start_d = start or max(first, min(end_d, last) - dt.timedelta(days=default_days - 1))
    if start_d > last or end_d < first:
        raise ReportError(
            f"no data between {start_d} and {end_d}: {table} covers {first} to {last}"
        )
    return Window(start=max(start_d, first), end=min(end_d, last), data_start=first, data_end=last)


def endpoints(settings: Settings) -> list[str]:
    rep = fetch(settings, "select distinct endpoint from marts.fct_api_metrics_daily order by endpoint",
                ("marts.fct_api_metrics_daily",))  # fmt: skip
    return rep.data.get_column("endpoint").to_list()


def services(settings: Settings) -> list[str]:
    rep = fetch(settings, "select distinct service from analytics.capacity_summary order by service",
                ("analytics.capacity_summary",))  # fmt: skip
    return rep.data.get_column("service").to_list()


def _check_endpoint(settings: Settings, endpoint: str | None) -> None:
    if endpoint is None:
        return
    valid = endpoints(settings)
    if endpoint not in valid:
        raise ReportError(
            f"unknown endpoint {endpoint!r}; closest valid endpoints: {', '.join(closest(endpoint, valid))}"
        )


# ---- performance -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PerformanceReport:
    window: Window
    endpoint: str | None
    summary: Report  # one row: requests, errors, availability, weighted percentiles, throughput
    endpoints: Report  # one row per endpoint
    services: Report  # one row per service, plus a row with service = null for all services
    trend: metric_layer.MetricResult  # governed api_requests, error_rate, p95_latency by period
    trend_grain: str


def _latency_sql(settings: Settings) -> tuple[str, str, list[str]]:
    """(sum items, percentile items, the sums' names) for the window response times. The
    percentiles are the governed metrics' own expressions (one definition, in dbt), evaluated
    over the group's sums of the columns their input metrics sum: the figure MetricFlow gives for
    that window and filter (analytics.metrics answers per calendar period only)."""
    defs = semantic_layer(settings).metrics
    inputs: dict[str, None] = {}
    items = []
    for column, name in LATENCY_METRICS.items():
        params = defs[name].definition["type_params"]
        inputs.update({m["name"]: None for m in params["metrics"]})
        items.append(f"{params['expr']} as {column}")
    sums = [f"sum({_MART_COLUMN.get(m, m)}) as {m}" for m in inputs]
    return ",\n            ".join(sums), ",\n            ".join(items), list(inputs)


def _trend_grain(window: Window) -> str:
    days = (window.end - window.start).days + 1
    return "day" if days <= 62 else "week" if days <= 366 else "month"


def performance(settings: Settings, start: dt.date | None = None, end: dt.date | None = None,
                endpoint: str | None = None) -> PerformanceReport:  # fmt: skip
    """Application performance (API), system utilisation per service and a governed-metric trend
    over a window (default: the last 30 days of data), optionally for one endpoint."""
    _check_endpoint(settings, endpoint)
    w = resolve_window(settings, start, end)
    where = "date_day between ? and ?" + (" and endpoint = ?" if endpoint else "")
    params: list[object] = [w.start, w.end] + ([endpoint] if endpoint else [])
    sums, latency, histogram = _latency_sql(settings)
    summary_sql = f"""
        with d as (select * from marts.fct_api_metrics_daily where {where}),
        daily as (select date_day, sum(requests) as requests from d group by date_day),
        totals as (
            select
            min(d.date_day) as first_day,
            max(d.date_day) as last_day,
            count(distinct d.date_day) as days,
            count(distinct d.endpoint) as endpoints,
            sum(d.requests) as requests,
            sum(d.errors) as errors,
            sum(d.successful_requests) as successful_requests,
            sum(d.errors) * 1.0 / nullif(sum(d.requests), 0) as error_rate,
            sum(d.successful_requests) * 1.0 / nullif(sum(d.requests), 0) as availability,
            max(d.latency_p95_ms) as worst_endpoint_day_latency_p95_ms,
            sum(d.requests) * 1.0 / nullif(count(distinct d.date_day), 0) as avg_requests_per_day,
            sum(d.requests) / (86400.0 * nullif(count(distinct d.date_day), 0)) as avg_requests_per_second,
            (select max(requests) from daily) as peak_day_requests,
            (select min(date_day) from daily where requests = (select max(requests) from daily)) as peak_day,
            sum(case when d.is_error_rate_breach then 1 else 0 end) as error_rate_breach_days,
            sum(case when d.is_latency_breach then 1 else 0 end) as latency_breach_days,
            {sums}
            from d
        )
        select
            *,
            {latency}
        from totals"""
    endpoints_sql = f"""
        with e as (
            select
            endpoint,
            sum(requests) as requests,
            sum(errors) as errors,
            sum(errors) * 1.0 / nullif(sum(requests), 0) as error_rate,
            sum(successful_requests) * 1.0 / nullif(sum(requests), 0) as availability,
            max(latency_p95_ms) as worst_day_latency_p95_ms,
            sum(requests) * 1.0 / nullif(count(distinct date_day), 0) as avg_requests_per_day,
            sum(requests) * 1.0 / sum(sum(requests)) over () as share_of_requests,
            sum(case when is_error_rate_breach then 1 else 0 end) as error_rate_breach_days,
            sum(case when is_latency_breach then 1 else 0 end) as latency_breach_days,
            {sums}
            from marts.fct_api_metrics_daily
            where {where}
            group by endpoint
        )
        select
            *,
            {latency}
        from e
        order by requests desc, endpoint"""
    services_sql = """
        select
            service,
            count(*) as hours,
            avg(cpu_pct) as avg_cpu_pct,
            max(cpu_pct) as peak_cpu_pct,
            avg(memory_pct) as avg_memory_pct,
            max(memory_pct) as peak_memory_pct,
            avg(utilisation) as avg_utilisation,
            max(utilisation) as peak_utilisation,
            sum(case when is_above_utilisation_alert then 1 else 0 end) as hours_above_alert,
            max(instances) as max_instances,
            sum(requests) as requests
        from marts.fct_service_utilisation_hourly
        where metric_date between ? and ?
        group by rollup (service)
        order by service nulls first"""
    api = ("marts.fct_api_metrics_daily",)
    summary, per_endpoint = (
        dataclasses.replace(r, data=r.data.drop(histogram))  # bucket sums: inputs only
        for r in (
            fetch(settings, summary_sql, api, params),
            fetch(settings, endpoints_sql, api, params),
        )
    )
    per_service = fetch(
        settings, services_sql, ("marts.fct_service_utilisation_hourly",), [w.start, w.end]
    )
    grain = _trend_grain(w)
    trend = metric_layer.query(["api_requests", "error_rate", "p95_latency"], grain=grain, start=w.start, end=w.end,
                               filters={"endpoint": endpoint} if endpoint else None, order=["period"],
                               settings=settings)  # fmt: skip
    return PerformanceReport(window=w, endpoint=endpoint, summary=summary, endpoints=per_endpoint,
                             services=per_service, trend=trend, trend_grain=grain)  # fmt: skip


# ---- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorReport:
    window: Window
    endpoints: Report  # per endpoint: errors, rate, baseline, breach days, worst-account share
    accounts: Report  # worst accounts by errors (with `total_accounts`)
    breaches: Report  # breach endpoint-days (with `total_breaches`)


def errors(settings: Settings, start: dt.date | None = None, end: dt.date | None = None,
           limit: int = 10) -> ErrorReport:  # fmt: skip
    """Error patterns over a window: error rate by endpoint, the accounts with the most errors and
    the share of errors they explain, and the endpoint-days that breached their baseline."""
    w = resolve_window(settings, start, end)
    endpoints_sql = """
        select
            endpoint,
            sum(requests) as requests,
            sum(errors) as errors,
            sum(errors) * 1.0 / nullif(sum(requests), 0) as error_rate,
            sum(baseline_error_rate * requests) / nullif(sum(case when baseline_error_rate is not null
                then requests end), 0) as baseline_error_rate,
            sum(errors) * 1.0 / nullif(sum(sum(errors)) over (), 0) as share_of_all_errors,
            sum(worst_account_errors) as daily_worst_account_errors,
            sum(worst_account_errors) * 1.0 / nullif(sum(errors), 0) as share_from_daily_worst_account,
            sum(case when is_error_rate_breach then 1 else 0 end) as error_rate_breach_days,
            sum(case when is_latency_breach then 1 else 0 end) as latency_breach_days,
            max(error_rate) as worst_day_error_rate
        from marts.fct_api_metrics_daily
        where date_day between ? and ?
        group by endpoint
        order by errors desc, endpoint"""
    accounts_sql = f"""
        with a as (
            select
                organization_id,
                max(customer_id) as customer_id,
                sum(requests) as requests,
                sum(errors) as errors,
                count(*) as active_days,
                sum(case when errors > 0 then 1 else 0 end) as days_with_errors,
                max(error_rate) as worst_day_error_rate
            from marts.fct_api_metrics_account_daily
            where date_day between ? and ?
            group by organization_id
        ),
        t as (select sum(requests) as total_requests, sum(errors) as total_errors, count(*) as total_accounts from a)
        select
            a.organization_id,
            a.customer_id,
            c.customer_name,
            c.segment,
            a.requests,
            a.errors,
            a.errors * 1.0 / nullif(a.requests, 0) as error_rate,
            a.errors * 1.0 / nullif(t.total_errors, 0) as share_of_errors,
            (t.total_errors - a.errors) * 1.0 / nullif(t.total_requests - a.requests, 0)
                as platform_error_rate_without_account,
            t.total_errors * 1.0 / nullif(t.total_requests, 0) as platform_error_rate,
            a.active_days,
            a.days_with_errors,
            a.worst_day_error_rate,
            t.total_accounts,
            t.total_errors,
            t.total_requests
        from a
        cross join t
        left join marts.dim_customers as c on c.organization_id = a.organization_id
        order by a.errors desc, a.organization_id
        limit {int(limit)}"""
    breaches_sql = f"""
        select
            date_day,
            endpoint,
            is_error_rate_breach,
            is_latency_breach,
            requests,
            errors,
            error_rate,
            baseline_error_rate,
            error_rate / nullif(baseline_error_rate, 0) as error_rate_vs_baseline,
            error_rate_excluding_worst_account,
            worst_account_errors * 1.0 / nullif(errors, 0) as share_from_worst_account,
            latency_p95_ms,
            baseline_latency_p95_ms,
            latency_p95_ms / nullif(baseline_latency_p95_ms, 0) as latency_p95_vs_baseline,
            count(*) over () as total_breaches
        from marts.fct_api_metrics_daily
        where date_day between ? and ? and (is_error_rate_breach or is_latency_breach)
        order by date_day desc, endpoint
        limit {int(limit)}"""
    api = ("marts.fct_api_metrics_daily",)
    params: list[object] = [w.start, w.end]
    return ErrorReport(
        window=w,
        endpoints=fetch(settings, endpoints_sql, api, params),
        accounts=fetch(
            settings,
            accounts_sql,
            ("marts.fct_api_metrics_account_daily", "marts.dim_customers"),
            params,
        ),
        breaches=fetch(settings, breaches_sql, api, params),
    )


# ---- capacity ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CapacityReport:
    horizon_days: int
    service: str | None
    summary: Report  # per service within the horizon: crossing dates, status, headroom
    charted_service: str
    forecast: Report  # the charted service's forecast points within the horizon
    history: Report  # the charted service's recent daily peak utilisation (ds, y)
    optimisation: Report  # per service: utilisation vs cost per request, flags


def capacity(
    settings: Settings, service: str | None = None, horizon_days: int = 30
) -> CapacityReport:
    """Capacity outlook per service within `horizon_days` of the stored forecast: when peak
    utilisation crosses the alert threshold (forecast and upper bound), status and headroom, the
    scaling order, and utilisation vs cost per request over the last 30 days of data."""
    valid = services(settings)
    if not valid:
        raise ReportError(
            "analytics.capacity_summary is empty: run the pipeline's capacity_forecast asset"
        )
    if service is not None and service not in valid:
        raise ReportError(
            f"unknown service {service!r}; closest valid services: {', '.join(closest(service, valid))}"
        )
    chosen = [service] if service else valid
    summary_sql = f"""
        with s as (select * from analytics.capacity_summary where service in ({_in(chosen)})),
        f as (
            select fc.service, fc.ds, fc.yhat, fc.yhat_lower, fc.yhat_upper, fc.warning,
                   row_number() over (partition by fc.service order by fc.ds) as period
            from analytics.capacity_forecast as fc
            where fc.service in (select service from s)
        ),
        available as (select service, max(period) as available_horizon_days from f group by service),
        h as (
            select f.*, s.threshold
            from f inner join s on s.service = f.service
            where f.period <= ?
        ),
        agg as (
            select
                service,
                max(ds) as horizon_end,
                max(yhat) as peak_yhat,
                max(yhat_upper) as peak_yhat_upper,
                min(case when yhat >= threshold then ds end) as crosses_on,
                min(case when yhat_upper >= threshold then ds end) as crosses_on_upper,
                min(case when yhat >= threshold then period end) as days_until_crossing,
                min(case when yhat_upper >= threshold then period end) as days_until_crossing_upper,
                max(warning) as forecast_warning
            from h
            group by service
        ),
        j as (
            select
                s.service,
                s.last_ds,
                s.last_utilisation,
                s.threshold,
                s.threshold - s.last_utilisation as headroom_to_threshold,
                1 - s.last_utilisation as headroom_to_full,
                agg.horizon_end,
                agg.peak_yhat,
                agg.peak_yhat_upper,
                s.threshold - agg.peak_yhat as forecast_headroom_to_threshold,
                agg.crosses_on,
                agg.crosses_on_upper,
                agg.days_until_crossing,
                agg.days_until_crossing_upper,
                case
                    when s.last_utilisation >= s.threshold then 'above'
                    when agg.crosses_on is not null then 'crosses'
                    when agg.crosses_on_upper is not null then 'may_cross'
                    else 'ok'
                end as status,
                s.method,
                agg.forecast_warning,
                available.available_horizon_days
            from s
            left join agg on agg.service = s.service
            left join available on available.service = s.service
        )
        select *
        from j
        order by case status when 'above' then 0 when 'crosses' then 1 when 'may_cross' then 2 else 3 end,
                 coalesce(crosses_on, crosses_on_upper), peak_yhat desc, service"""
    tables = ("analytics.capacity_summary", "analytics.capacity_forecast")
    summary = fetch(settings, summary_sql, tables, [*chosen, int(horizon_days)])
    available = summary.data.get_column("available_horizon_days").drop_nulls()
    max_horizon = int(available.min()) if available.len() else 0  # type: ignore[arg-type]
    if horizon_days > max_horizon:
        raise ReportError(f"horizon_days {horizon_days} is beyond the stored capacity forecast, which covers "
                          f"{max_horizon} days: ask for at most {max_horizon}")  # fmt: skip
    charted = str(summary.data.get_column("service")[0])
    last_ds = summary.data.filter(pl.col("service") == charted).get_column("last_ds")[0]
    forecast_sql = f"""
        select ds, yhat, yhat_lower, yhat_upper
        from analytics.capacity_forecast
        where service = ?
        order by ds
        limit {int(horizon_days)}"""
    history_sql = """
        select date_day as ds, peak_utilisation as y
        from marts.fct_service_capacity_daily
        where service = ? and date_day > ? and date_day <= ?
        order by ds"""
    history_days = max(90, 3 * int(horizon_days))
    forecast_rep = fetch(settings, forecast_sql, ("analytics.capacity_forecast",), [charted])
    history = fetch(settings, history_sql, ("marts.fct_service_capacity_daily",),
                    [charted, last_ds - dt.timedelta(days=history_days), last_ds])  # fmt: skip
    return CapacityReport(horizon_days=horizon_days, service=service, summary=summary, charted_service=charted,
                          forecast=forecast_rep, history=history,
                          optimisation=resource_optimisation(settings, chosen))  # fmt: skip


def resource_optimisation(settings: Settings, chosen: Sequence[str]) -> Report:
    """Per service over the last 30 days of data: utilisation, CPU, instances, cloud cost and cost
    per 1,000 requests (and its change vs the 30 days before), with optimisation flags."""
    first, last = _coverage(settings, "marts.fct_service_utilisation_hourly", "metric_date")
    start = max(first, last - dt.timedelta(days=OPTIMISATION_WINDOW_DAYS - 1))
    prev_end = start - dt.timedelta(days=1)
    prev_start = prev_end - dt.timedelta(days=OPTIMISATION_WINDOW_DAYS - 1)
    sql = f"""
        with u as (
            select
                service,
                avg(utilisation) as avg_utilisation,
                max(utilisation) as peak_utilisation,
                avg(cpu_pct) as avg_cpu_pct,
                max(cpu_pct) as peak_cpu_pct,
                avg(memory_pct) as avg_memory_pct,
                avg(instances) as avg_instances,
                max(instances) as max_instances
            from marts.fct_service_utilisation_hourly
            where metric_date between ? and ? and service in ({_in(chosen)})
            group by service
        ),
        c as (
            select
                service,
                sum(case when date_day >= ? then cost_usd else 0 end) as cost_usd,
                sum(case when date_day >= ? then compute_cost_usd else 0 end) as compute_cost_usd,
                sum(case when date_day >= ? then requests_served else 0 end) as requests_served,
                1000.0 * sum(case when date_day >= ? then cost_usd else 0 end)
                    / nullif(sum(case when date_day >= ? then requests_served else 0 end), 0) as cost_per_1000_requests_usd,
                1000.0 * sum(case when date_day < ? then cost_usd else 0 end)
                    / nullif(sum(case when date_day < ? then requests_served else 0 end), 0) as prev_cost_per_1000_requests_usd
            from marts.fct_cost_per_request_daily
            where date_day between ? and ? and service in ({_in(chosen)})
            group by service
        )
        select
            u.service,
            cast(? as date) as window_start,
            cast(? as date) as window_end,
            u.avg_utilisation,
            u.peak_utilisation,
            u.avg_cpu_pct,
            u.peak_cpu_pct,
            u.avg_memory_pct,
            u.avg_instances,
            u.max_instances,
            c.cost_usd,
            c.compute_cost_usd,
            c.cost_usd / nullif(sum(c.cost_usd) over (), 0) as share_of_cost,
            c.requests_served,
            c.cost_per_1000_requests_usd,
            c.prev_cost_per_1000_requests_usd,
            c.cost_per_1000_requests_usd / nullif(c.prev_cost_per_1000_requests_usd, 0) - 1 as cost_per_request_change,
            c.compute_cost_usd / nullif(u.avg_instances * {OPTIMISATION_WINDOW_DAYS}, 0) as compute_cost_per_instance_day_usd,
            (u.peak_utilisation < {OVER_PROVISIONED_PEAK_UTILISATION} and u.peak_cpu_pct < {OVER_PROVISIONED_PEAK_CPU_PCT})
                as is_over_provisioned,
            coalesce(c.cost_per_1000_requests_usd / nullif(c.prev_cost_per_1000_requests_usd, 0) - 1 > {UNIT_COST_RISE}, false)
                as is_unit_cost_rising
        from u
        left join c on c.service = u.service
        order by c.cost_usd desc, u.service"""
    params: list[object] = [start, last, *chosen, start, start, start, start, start, start, start, prev_start, last,
                            *chosen, start, last]  # fmt: skip
    return fetch(
        settings,
        sql,
        ("marts.fct_service_utilisation_hourly", "marts.fct_cost_per_request_daily"),
        params,
    )


# ---- incidents ---------------------------------------------------------------------------------


_INCIDENTS_CTE = """
    with data_end as (
        select max(t) as data_end from (
            select max(metric_hour) + interval 1 hour as t from marts.fct_service_utilisation_hourly
            union all
            select cast(max(date_day) + interval 1 day as timestamp with time zone) as t
            from marts.fct_api_metrics_daily
        ) as ends
    ),
    incidents as (
        select
            i.*,
            case when i.ended_at >= d.data_end then 'open' else 'resolved' end as status,
            d.data_end,
            case
                when i.is_platform_wide then 'high'
                when i.severity = 'critical' and (i.peak_error_rate is not null or i.peak_latency_p95_ratio is not null)
                    then 'high'
                when i.severity in ('critical', 'high') then 'medium'
                when i.peak_error_rate is not null or i.peak_latency_p95_ratio is not null then 'medium'
                else 'low'
            end as reputation_risk,
            i.peak_error_rate / nullif(i.baseline_error_rate, 0) as peak_error_rate_vs_baseline
        from marts.fct_incident_candidates as i
        cross join data_end as d
    )"""
_INCIDENT_TABLES = ("marts.fct_incident_candidates", "marts.fct_service_utilisation_hourly",
                    "marts.fct_api_metrics_daily")  # fmt: skip
_TRIAGE_ORDER = "case status when 'open' then 0 else 1 end, severity_rank desc, mrr_affected desc, started_at desc, incident_id"


def split_list(text: object) -> list[str]:
    """A comma-separated mart column as a list."""
    return [p.strip() for p in str(text).split(",") if p.strip()] if text else []


def incident_title(row: dict[str, object]) -> str:
    """A one-line title from the incident's breach kinds, endpoints and services."""
    kinds = [BREACH_METRIC_LABELS.get(m, m) for m in split_list(row.get("breach_metrics"))]
    where: list[str] = []
    eps, svcs = split_list(row.get("affected_endpoints")), split_list(row.get("affected_services"))
    if eps:
        where.append(eps[0] if len(eps) == 1 else f"{len(eps)} endpoints")
    if svcs:
        where.append(svcs[0] if len(svcs) == 1 else f"{len(svcs)} services")
    scope = " (platform-wide)" if row.get("is_platform_wide") else ""
    return f"{' + '.join(kinds) or 'breach'} on {' and '.join(where) or 'the platform'}{scope}"


def incident_ids(settings: Settings) -> list[str]:
    rep = fetch(settings, "select incident_id from marts.fct_incident_candidates order by started_at desc",
                ("marts.fct_incident_candidates",))  # fmt: skip
    return rep.data.get_column("incident_id").to_list()


def incidents(settings: Settings, severity: str | None = None, since: dt.date | None = None,
              until: dt.date | None = None, limit: int = 20) -> Report:  # fmt: skip
    """Incident candidates ranked for triage (open first, then severity, MRR affected, most
    recent), with status, reputation risk and `total` (rows before the limit)."""
    if severity is not None and severity not in SEVERITIES:
        raise ReportError(f"unknown severity {severity!r}; valid: {', '.join(SEVERITIES)}")
    if since and until and since > until:
        raise ReportError(f"since {since} is after until {until}: swap them")
    clauses, params = [], []
    if severity:
        clauses.append("severity = ?")
        params.append(severity)
    if since:
        clauses.append("cast(started_at as date) >= ?")
        params.append(since)
    if until:
        clauses.append("cast(started_at as date) <= ?")
        params.append(until)
    where = f"where {' and '.join(clauses)}" if clauses else ""
    sql = f"""{_INCIDENTS_CTE}
    select
        row_number() over (order by {_TRIAGE_ORDER}) as triage_rank,
        *,
        count(*) over () as total
    from incidents
    {where}
    order by {_TRIAGE_ORDER}
    limit {int(limit)}"""
    return fetch(settings, sql, _INCIDENT_TABLES, params)


@dataclass(frozen=True)
class IncidentDetail:
    incident: Report  # one row (as in `incidents`)
    timeline: Report  # hourly service metrics from `context_hours` before to after the incident
    endpoint_days: Report  # daily API metrics of the incident's days on its endpoints (all if none)
    customers: Report  # affected customers, top by MRR, with `total` and `total_mrr`
    response: Report  # per affected service: instances and CPU before, during, after


def incident(
    settings: Settings, incident_id: str, customers_limit: int = 10, context_hours: int = 2
) -> IncidentDetail:
    """One incident in full: the incident row, its hourly timeline, its endpoint-days, the
    affected customers (top by MRR) and the response facts per service."""
    sql = f"""{_INCIDENTS_CTE}
    select * from incidents where incident_id = ?"""
    row = fetch(settings, sql, _INCIDENT_TABLES, [incident_id])
    if row.data.height == 0:
        ids = incident_ids(settings)
        hint = (
            f"closest valid ids: {', '.join(closest(incident_id, ids))}"
            if ids
            else "there are no incidents"
        )
        raise ReportError(
            f"unknown incident_id {incident_id!r}; {hint} (list_incidents names them)"
        )
    inc = row.data.row(0, named=True)
    started, ended = inc["started_at"], inc["ended_at"]
    svcs = split_list(inc["affected_services"]) or services(settings)
    eps = split_list(inc["affected_endpoints"]) or endpoints(settings)
    first_day = started.astimezone(dt.UTC).date()
    last_day = (ended - dt.timedelta(hours=1)).astimezone(dt.UTC).date()
    before = started - dt.timedelta(hours=context_hours)
    after = ended + dt.timedelta(hours=context_hours)
    timeline_sql = f"""
        select
            metric_hour,
            service,
            metric_hour >= ? and metric_hour < ? as in_incident,
            cpu_pct,
            memory_pct,
            utilisation,
            requests,
            capacity_requests,
            instances,
            is_above_utilisation_alert
        from marts.fct_service_utilisation_hourly
        where service in ({_in(svcs)}) and metric_hour >= ? and metric_hour < ?
        order by metric_hour, service"""
    endpoint_sql = f"""
        select
            date_day, endpoint, requests, errors, error_rate, baseline_error_rate,
            error_rate / nullif(baseline_error_rate, 0) as error_rate_vs_baseline,
            latency_p95_ms, baseline_latency_p95_ms,
            latency_p95_ms / nullif(baseline_latency_p95_ms, 0) as latency_p95_vs_baseline,
            is_error_rate_breach, is_latency_breach
        from marts.fct_api_metrics_daily
        where date_day between ? and ? and endpoint in ({_in(eps)})
        order by date_day, endpoint"""
    customers_sql = f"""
        with a as (
            select organization_id, max(customer_id) as customer_id, sum(errors) as errors, sum(requests) as requests
            from marts.fct_api_metrics_account_daily
            where date_day between ? and ? and errors > 0
            group by organization_id
        ),
        j as (
            select
                a.organization_id,
                coalesce(c.customer_id, a.customer_id) as customer_id,
                c.customer_name,
                c.segment,
                coalesce(m.mrr, 0) as mrr,
                m.plan_tier,
                a.requests,
                a.errors,
                a.errors * 1.0 / nullif(a.requests, 0) as error_rate
            from a
            left join marts.dim_customers as c on c.organization_id = a.organization_id
            left join marts.fct_mrr_daily as m on m.customer_id = c.customer_id and m.date_day = ?
        )
        select
            *,
            count(*) over () as total,
            sum(case when mrr > 0 then 1 else 0 end) over () as total_paying,
            sum(mrr) over () as total_mrr
        from j
        order by mrr desc, errors desc, organization_id
        limit {int(customers_limit)}"""
    response_sql = f"""
        select
            service,
            max(case when metric_hour = ? then instances end) as instances_before,
            max(case when metric_hour >= ? and metric_hour < ? then instances end) as max_instances_during,
            max(case when metric_hour = ? then instances end) as instances_after,
            max(case when metric_hour = ? then cpu_pct end) as cpu_pct_before,
            max(case when metric_hour >= ? and metric_hour < ? then cpu_pct end) as peak_cpu_pct_during,
            max(case when metric_hour = ? then cpu_pct end) as cpu_pct_after,
            sum(case when metric_hour >= ? and metric_hour < ? and is_above_utilisation_alert then 1 else 0 end)
                as hours_above_alert_during
        from marts.fct_service_utilisation_hourly
        where service in ({_in(svcs)}) and metric_hour >= ? and metric_hour <= ?
        group by service
        order by service"""
    hour_before = started - dt.timedelta(hours=1)
    hourly = ("marts.fct_service_utilisation_hourly",)
    return IncidentDetail(
        incident=row,
        timeline=fetch(settings, timeline_sql, hourly, [started, ended, *svcs, before, after]),
        endpoint_days=fetch(
            settings, endpoint_sql, ("marts.fct_api_metrics_daily",), [first_day, last_day, *eps]
        ),
        customers=fetch(
            settings,
            customers_sql,
            ("marts.fct_api_metrics_account_daily", "marts.dim_customers", "marts.fct_mrr_daily"),
            [first_day, last_day, first_day],
        ),
        response=fetch(
            settings,
            response_sql,
            hourly,
            [
                hour_before,
                started,
                ended,
                ended,
                hour_before,
                started,
                ended,
                ended,
                started,
                ended,
                *svcs,
                hour_before,
                ended,
            ],
        ),
    )
