"""Dashboards: KPI tiles as structured content, a text summary and a PNG, plus an MCP App.

Tools
  generate_dashboard   one of five dashboards (executive, operational, financial, customer,
                       technical) for a timeframe: KPI tiles with value, previous period, change
                       and a sparkline; bound to the `ui://psz/dashboard.html` MCP App
  analyze_metrics      the same tiles for any governed metrics, plus a trend per metric
Resources
  dashboard://{type}   a dashboard for its default timeframe, as JSON
  ui://psz/dashboard.html  the MCP App (self-contained HTML) that renders the tiles

Thin adapters over `analytics.dashboards` (which holds every number and the arithmetic): they
shape arguments and results, report progress and render charts. Hosts without MCP Apps get the
text summary and the PNG; hosts with it render the tiles from the structured content.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Annotated, Literal

import anyio
import anyio.from_thread
import anyio.to_thread
from mcp.server.apps import Apps
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from analytics import dashboards as dash
from analytics.metrics import MetricQueryError
from analytics.settings import Settings
from analytics.warehouse import WarehouseUnavailable
from mcp_layer import charts, completions
from mcp_layer.common import (
    READ_ONLY,
    Provenance,
    definitions_of,
    tool_errors,
    with_chart,
)

APP_URI = "ui://psz/dashboard.html"

DashboardKind = Literal["executive", "operational", "financial", "customer", "technical"]
Preset = Literal[
    "last_7_days", "last_30_days", "last_90_days", "week_to_date", "last_week", "month_to_date",
    "last_month", "last_3_months", "last_6_months", "last_12_months", "quarter_to_date", "last_quarter",
    "year_to_date", "last_year",
]  # fmt: skip
GrainName = Literal["day", "week", "month", "quarter", "year"]
assert set(Preset.__args__) == set(dash.TIMEFRAME_PRESETS)  # type: ignore[attr-defined]
assert set(DashboardKind.__args__) == set(dash.DASHBOARD_TYPES)  # type: ignore[attr-defined]


# ---- output models -----------------------------------------------------------------------------


class SparkPoint(BaseModel):
    period: str = Field(description="First day of the period (ISO date)")
    value: float | None = Field(description="The metric for the period; null when there is no data")


class KpiTile(BaseModel):
    metric: str = Field(description="Governed metric name (query_metrics accepts it)")
    label: str
    description: str = Field(description="The metric's governed definition, in words")
    format: str = Field(description="How to show the value: currency (USD), number, percent (a fraction), score, "
                                    "ms, months, usd_per_request")  # fmt: skip
    polarity: Literal["higher_is_better", "lower_is_better", "neutral"]
    grain: str = Field(description="Period grain of the value and the sparkline")
    period_start: str
    period_end: str
    previous_start: str
    previous_end: str
    value: float | None = Field(
        description="Value for the timeframe (end of period for snapshots such as MRR)"
    )
    previous_value: float | None = Field(
        description="Value for the previous period of the same length"
    )
    change: float | None = Field(description="value - previous_value, in the metric's unit")
    change_pct: float | None = Field(description="change / |previous_value| as a fraction; null when the previous "
                                                 "value is 0 or missing")  # fmt: skip
    direction: Literal["up", "down", "flat", "unknown"]
    status: Literal["good", "bad", "neutral", "unknown"] = Field(
        description="Whether the change is good given the metric's polarity"
    )
    value_text: str = Field(description="The value formatted for display")
    change_text: str = Field(description="The change formatted for display")
    sparkline: list[SparkPoint] = Field(
        description="Recent periods ending with the timeframe, oldest first"
    )
    segmentable: bool = Field(description="Whether the metric can be filtered by customer segment")
    segments: list[str] = Field(
        description="Segments the value is filtered to (empty: all customers)"
    )
    combination: str = Field(
        description="How the timeframe value follows from the per-period values"
    )
    note: str | None = Field(
        None, description="Caveats, e.g. a monthly metric on a daily timeframe"
    )


class TimeframeInfo(BaseModel):
    name: str = Field(description="The preset, or 'custom' for start/end dates")
    grain: str
    start: str
    end: str
    periods: int = Field(description="Number of periods (at the grain) in the timeframe")
    previous_start: str
    previous_end: str
    data_as_of: str = Field(description="Latest date of the data; presets are resolved against it")
    label: str
    note: str | None = None


class Dashboard(BaseModel):
    type: str = Field(description="executive, operational, financial, customer or technical")
    title: str
    description: str
    timeframe: TimeframeInfo
    segments: list[str] = Field(
        description="Customer segments the dashboard is filtered to (empty: all)"
    )
    tiles: list[KpiTile]
    summary: str = Field(description="The dashboard in a few sentences")
    provenance: Provenance


class MetricTrend(BaseModel):
    metric: str
    points: int = Field(description="Periods with data in the series")
    first: float | None
    last: float | None
    minimum: float | None
    minimum_period: str | None
    maximum: float | None
    maximum_period: str | None
    mean: float | None
    slope_per_period: float | None = Field(
        description="Least-squares slope, metric units per period"
    )
    total_change_pct: float | None = Field(description="(last - first) / |first| as a fraction")
    volatility: float | None = Field(description="Coefficient of variation (stdev / |mean|)")
    direction: Literal["rising", "falling", "flat", "insufficient_data"]
    summary: str


class MetricAnalysis(BaseModel):
    timeframe: TimeframeInfo
    segments: list[str]
    tiles: list[KpiTile]
    trends: list[MetricTrend] = Field(
        description="One trend per metric, over its sparkline periods"
    )
    summary: str
    provenance: Provenance


# ---- conversions -------------------------------------------------------------------------------


def _iso(d: dt.date | None) -> str | None:
    return d.isoformat() if d else None


def _timeframe(tf: dash.Timeframe) -> TimeframeInfo:
    return TimeframeInfo(name=tf.name, grain=tf.grain, start=tf.start.isoformat(), end=tf.end.isoformat(),
                         periods=tf.periods, previous_start=tf.previous_start.isoformat(),
                         previous_end=tf.previous_end.isoformat(), data_as_of=tf.data_as_of.isoformat(),
                         label=tf.label, note=tf.note)  # fmt: skip


def _tile(t: dash.Tile) -> KpiTile:
    return KpiTile(
        metric=t.metric, label=t.label, description=t.description, format=t.format, polarity=t.polarity,  # type: ignore[arg-type]
        grain=t.grain, period_start=t.period_start.isoformat(), period_end=t.period_end.isoformat(),
        previous_start=t.previous_start.isoformat(), previous_end=t.previous_end.isoformat(), value=t.value,
        previous_value=t.previous_value, change=t.change, change_pct=t.change_pct, direction=t.direction,  # type: ignore[arg-type]
        status=t.status, value_text=t.value_text, change_text=t.change_text,  # type: ignore[arg-type]
        sparkline=[SparkPoint(period=p.isoformat(), value=v) for p, v in t.sparkline],
        segmentable=t.segmentable, segments=list(t.segments), combination=t.combination, note=t.note,
    )  # fmt: skip


def _provenance(result: dash.Dashboard | dash.MetricAnalysis) -> Provenance:
    defs = definitions_of(result.definitions)
    return Provenance.of(
        sql=result.sql, tables=result.tables, freshness=result.freshness, definitions=defs
    )


def dashboard_model(d: dash.Dashboard) -> Dashboard:
    return Dashboard(type=d.type, title=d.title, description=d.description, timeframe=_timeframe(d.timeframe),
                     segments=list(d.segments), tiles=[_tile(t) for t in d.tiles], summary=d.summary,
                     provenance=_provenance(d))  # fmt: skip


def _chart_tiles(tiles: list[dash.Tile]) -> list[charts.ChartTile]:
    return [charts.ChartTile(label=t.label, value_text=t.value_text, change_text=t.change_text.split(" vs ")[0],
                             sparkline=[v for _, v in t.sparkline],
                             tone=t.status if t.status in ("good", "bad") else "neutral")  # type: ignore[arg-type]
            for t in tiles]  # fmt: skip


def _progress_reporter(ctx: Context, extra_steps: int) -> Callable[[int, int, str], None]:
    """A progress callback for analytics code running in a worker thread: forwards to the
    client as MCP progress notifications (no-ops when the client sent no progress token)."""

    def report(done: int, total: int, message: str) -> None:
        anyio.from_thread.run(ctx.report_progress, done, total + extra_steps, message)

    return report


# ---- registration ------------------------------------------------------------------------------


def register_apps(apps: Apps, settings: Settings) -> None:
    """The UI-bound dashboard tool and its MCP App resource."""

    @apps.tool(resource_uri=APP_URI, title="Generate dashboard", annotations=READ_ONLY)
    async def generate_dashboard(
        ctx: Context,
        type: Annotated[
            DashboardKind,
            Field(description="executive (MRR, ARR, customers, NRR, churn, health), financial (MRR, recognised and "
                  "deferred revenue, gross margin, LTV, CAC), customer (health, at-risk, NPS, churn, expansion), "
                  "operational (usage, errors, payments, leads, deals) or technical (API traffic, errors, latency, "
                  "utilisation, cost per request)"),
        ],
        timeframe: Annotated[
            Preset | None,
            Field(description="Preset period, resolved against the latest data date. Default: last_month for "
                  "executive/financial/customer, last_30_days for operational/technical. Leave empty when giving "
                  "start/end"),
        ] = None,
        start: Annotated[dt.date | None, Field(description="Custom timeframe start (YYYY-MM-DD), instead of a preset")] = None,
        end: Annotated[dt.date | None, Field(description="Custom timeframe end (YYYY-MM-DD); default the latest data date")] = None,
        segments: Annotated[
            list[str] | None,
            Field(max_length=dash.MAX_SEGMENTS, description="Customer segments to filter to (smb, mid_market, "
                  "enterprise); metrics without a segment dimension stay company-wide and say so"),
        ] = None,
        grain: Annotated[
            GrainName | None,
            Field(description="Period grain of the tiles and sparklines; default the timeframe's own"),
        ] = None,
    ) -> Annotated[CallToolResult, Dashboard]:  # fmt: skip
        """Build a business dashboard of KPI tiles: for each headline metric its value for the
        timeframe, the previous period of the same length, the change (and whether it is good or
        bad for that metric) and a sparkline of recent periods. Use for "how is the business /
        finance / customer base / platform doing" questions and period-over-period reviews.
        Returns the tiles as structured data with the SQL and metric definitions behind them, a
        short text summary and a PNG of the tiles; hosts with MCP Apps render it interactively.
        For arbitrary metrics use analyze_metrics; for raw series use query_metrics."""
        report = _progress_reporter(ctx, extra_steps=1)

        def work() -> tuple[dash.Dashboard, bytes]:
            d = dash.generate_dashboard(
                type, timeframe, start, end, segments or (), grain, settings, report
            )
            png = charts.kpi_grid_png(_chart_tiles(d.tiles), f"{d.title} - {d.timeframe.label}")
            n = len(d.tiles)
            anyio.from_thread.run(ctx.report_progress, n + 1, n + 1, "chart rendered")
            return d, png

        with tool_errors():
            d, png = await anyio.to_thread.run_sync(work)
        return with_chart(dashboard_model(d), d.summary, png)

    apps.add_html_resource(APP_URI, DASHBOARD_HTML, name="dashboard_app", title="KPI dashboard",
                           description="Renders generate_dashboard results as KPI tiles with sparklines",
                           prefers_border=True)  # fmt: skip


def register(server: MCPServer, settings: Settings) -> None:
    """analyze_metrics, the dashboard://{type} resource and its completions."""

    @server.tool(title="Analyze metrics", annotations=READ_ONLY)
    async def analyze_metrics(
        ctx: Context,
        metrics: Annotated[
            list[str],
            Field(min_length=1, max_length=dash.MAX_METRICS,
                  description="Governed metric names from list_metrics, e.g. ['mrr', 'error_rate']"),
        ],
        timeframe: Annotated[
            Preset | None, Field(description="Preset period (default last_month); leave empty when giving start/end")
        ] = None,
        start: Annotated[dt.date | None, Field(description="Custom timeframe start (YYYY-MM-DD)")] = None,
        end: Annotated[dt.date | None, Field(description="Custom timeframe end (YYYY-MM-DD); default latest data")] = None,
        grain: Annotated[
            GrainName | None, Field(description="Period grain of the values and trend; default the timeframe's own")
        ] = None,
        segments: Annotated[
            list[str] | None,
            Field(max_length=dash.MAX_SEGMENTS, description="Customer segments to filter to, where the metric "
                  "has a segment dimension"),
        ] = None,
    ) -> Annotated[CallToolResult, MetricAnalysis]:  # fmt: skip
        """Analyse any governed metrics over a timeframe: for each, the value, the previous period
        of the same length, the change and whether it is good, a sparkline and a trend (direction,
        slope, low and high, volatility). Use to answer "how did X change" or "what is the trend
        of X" for metrics not on a standard dashboard. Returns structured tiles and trends with the
        SQL and definitions behind them, a text summary and a line chart."""
        report = _progress_reporter(ctx, extra_steps=0)

        def work() -> tuple[dash.MetricAnalysis, bytes]:
            a = dash.analyze_metrics(
                metrics, timeframe, start, end, grain, segments or (), settings, report
            )
            png = charts.kpi_grid_png(
                _chart_tiles(a.tiles), f"Metric analysis - {a.timeframe.label}"
            )
            return a, png

        with tool_errors():
            a, png = await anyio.to_thread.run_sync(work)
        model = MetricAnalysis(
            timeframe=_timeframe(a.timeframe), segments=list(a.segments), tiles=[_tile(t) for t in a.tiles],
            trends=[MetricTrend(metric=m, points=t.points, first=t.first, last=t.last, minimum=t.minimum,
                                minimum_period=_iso(t.minimum_period), maximum=t.maximum,
                                maximum_period=_iso(t.maximum_period), mean=t.mean,
                                slope_per_period=t.slope_per_period, total_change_pct=t.total_change_pct,
                                volatility=t.volatility, direction=t.direction, summary=t.summary)  # type: ignore[arg-type]
                    for m, t in a.trends.items()],
            summary=a.summary, provenance=_provenance(a),
        )  # fmt: skip
        return with_chart(model, a.summary, png)

    @server.resource("dashboard://{type}", name="dashboard", title="Dashboard", mime_type="application/json",
                     description="A KPI dashboard (executive, operational, financial, customer or technical) for "
                     "its default timeframe, as JSON: tiles with value, previous period, change and sparkline, "
                     "plus provenance")  # fmt: skip
    def dashboard_resource(type: str) -> str:
        if type not in dash.DASHBOARD_TYPES:
            raise ResourceNotFoundError(
                f"unknown dashboard type {type!r}; use one of {', '.join(dash.DASHBOARD_TYPES)} "
                "(e.g. dashboard://executive)"
            )
        try:
            d = dash.generate_dashboard(type, settings=settings)
        except MetricQueryError as exc:
            raise ResourceError(str(exc)) from None
        except (FileNotFoundError, WarehouseUnavailable) as exc:
            raise ResourceError(f"the warehouse is not available: {exc}") from None
        return json.dumps(dashboard_model(d).model_dump(mode="json"), indent=1)

    completions.provide(server, "type", lambda _partial: list(dash.DASHBOARD_TYPES))


# ---- the MCP App -------------------------------------------------------------------------------

# Self-contained: inline CSS and JS, sparklines drawn as inline SVG, no network access. Implements
# the guest side of MCP Apps (ext-apps spec 2026-01-26): ui/initialize -> ui/notifications/initialized,
# then renders ui/notifications/tool-result's structuredContent; tool-input shows what is loading;
# the type/timeframe pickers call the tool again through the host (tools/call).
DASHBOARD_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>KPI dashboard</title>
<style>
:root {
  color-scheme: light dark;
  --bg: var(--color-background-primary, light-dark(#ffffff, #111827));
  --tile: var(--color-background-secondary, light-dark(#f9fafb, #1f2937));
  --text: var(--color-text-primary, light-dark(#111827, #f9fafb));
  --muted: var(--color-text-secondary, light-dark(#6b7280, #9ca3af));
  --border: var(--color-border-primary, light-dark(#e5e7eb, #374151));
  --good: #16a34a; --bad: #dc2626; --neutral: #6b7280; --line: #2563eb;
}
* { box-sizing: border-box; }
body { margin: 0; padding: 12px; background: var(--bg); color: var(--text);
       font-family: var(--font-sans, system-ui, -apple-system, "Segoe UI", sans-serif); font-size: 14px; }
header { display: flex; flex-wrap: wrap; align-items: baseline; gap: 8px 16px; margin-bottom: 10px; }
h1 { font-size: 17px; margin: 0; }
.sub { color: var(--muted); font-size: 12px; }
.controls { margin-left: auto; display: flex; gap: 6px; }
select { font: inherit; font-size: 12px; padding: 2px 4px; background: var(--tile); color: var(--text);
         border: 1px solid var(--border); border-radius: 6px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; }
.tile { background: var(--tile); border: 1px solid var(--border); border-radius: 10px; padding: 10px 12px; }
.label { color: var(--muted); font-size: 12px; }
.value { font-size: 22px; font-weight: 700; margin: 4px 0 2px; }
.change { font-size: 12px; }
.good { color: var(--good); } .bad { color: var(--bad); } .neutral, .unknown { color: var(--neutral); }
.note { color: var(--muted); font-size: 11px; margin-top: 4px; }
svg { display: block; width: 100%; height: 36px; margin-top: 6px; }
#summary { color: var(--muted); font-size: 12px; margin-top: 10px; line-height: 1.4; }
#status { color: var(--muted); font-size: 13px; }
.error { color: var(--bad); }
</style>
</head>
<body>
<header>
  <h1 id="title">Dashboard</h1>
  <span class="sub" id="timeframe"></span>
  <span class="controls">
    <select id="type" aria-label="Dashboard type">
      <option>executive</option><option>financial</option><option>customer</option>
      <option>operational</option><option>technical</option>
    </select>
    <select id="preset" aria-label="Timeframe">
      <option value="">default</option><option>last_7_days</option><option>last_30_days</option>
      <option>last_90_days</option><option>last_month</option><option>month_to_date</option>
      <option>last_quarter</option><option>quarter_to_date</option><option>last_12_months</option>
      <option>year_to_date</option><option>last_year</option>
    </select>
  </span>
</header>
<div id="status">Waiting for the dashboard...</div>
<div class="grid" id="tiles"></div>
<div id="summary"></div>
<script>
(function () {
  "use strict";
  var PROTOCOL_VERSION = "2026-01-26";
  var nextId = 1, pending = {}, lastArgs = {};

  function send(msg) { window.parent.postMessage(msg, "*"); }
  function request(method, params) {
    var id = nextId++;
    send({ jsonrpc: "2.0", id: id, method: method, params: params || {} });
    return new Promise(function (resolve, reject) { pending[id] = { resolve: resolve, reject: reject }; });
  }
  function notify(method, params) { send({ jsonrpc: "2.0", method: method, params: params || {} }); }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function sparkline(points, status) {
    var ns = "http://www.w3.org/2000/svg", W = 200, H = 36, pad = 3;
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 " + W + " " + H);
    svg.setAttribute("preserveAspectRatio", "none");
    var vals = (points || []).map(function (p) { return p.value; });
    var nums = vals.filter(function (v) { return typeof v === "number" && isFinite(v); });
    if (nums.length < 2) return svg;
    var lo = Math.min.apply(null, nums), hi = Math.max.apply(null, nums), span = (hi - lo) || 1;
    var n = vals.length - 1 || 1, d = "", pen = false;
    vals.forEach(function (v, i) {
      if (typeof v !== "number" || !isFinite(v)) return;  // sparse series are joined across gaps
      var x = pad + (W - 2 * pad) * i / n;
      var y = hi === lo ? H / 2 : H - pad - (H - 2 * pad) * (v - lo) / span;
      d += (pen ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1) + " ";
      pen = true;
    });
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "none");
    path.setAttribute("stroke-width", "2");
    path.setAttribute("vector-effect", "non-scaling-stroke");
    path.setAttribute("stroke", status === "good" ? "#16a34a" : status === "bad" ? "#dc2626" : "#2563eb");
    svg.appendChild(path);
    return svg;
  }

  function render(data) {
    if (!data || !Array.isArray(data.tiles)) return;
    document.getElementById("title").textContent = data.title || "Dashboard";
    var tf = data.timeframe || {};
    var seg = (data.segments && data.segments.length) ? " | segments: " + data.segments.join(", ") : "";
    document.getElementById("timeframe").textContent =
      (tf.label || "") + (tf.previous_start ? " vs " + tf.previous_start + " to " + tf.previous_end : "") + seg;
    if (data.type) document.getElementById("type").value = data.type;
    var grid = document.getElementById("tiles");
    grid.textContent = "";
    data.tiles.forEach(function (t) {
      var tile = el("div", "tile");
      tile.title = t.description || "";
      tile.appendChild(el("div", "label", t.label));
      tile.appendChild(el("div", "value", t.value_text));
      var arrow = t.direction === "up" ? "\\u25B2 " : t.direction === "down" ? "\\u25BC " : "";
      tile.appendChild(el("div", "change " + (t.status || "unknown"), arrow + (t.change_text || "")));
      tile.appendChild(sparkline(t.sparkline, t.status));
      if (t.note) tile.appendChild(el("div", "note", t.note));
      grid.appendChild(tile);
    });
    document.getElementById("summary").textContent = data.summary || "";
    document.getElementById("status").textContent = "";
    reportSize();
  }

  function onToolResult(result) {
    var status = document.getElementById("status");
    if (!result) return;
    if (result.isError) {
      var text = (result.content || []).map(function (c) { return c.text || ""; }).join(" ");
      status.className = "error";
      status.textContent = text || "The dashboard could not be built.";
      return;
    }
    status.className = "";
    if (result.structuredContent) { render(result.structuredContent); return; }
    var block = (result.content || []).filter(function (c) { return c.type === "text"; })[0];
    if (block) { try { render(JSON.parse(block.text)); } catch (e) { status.textContent = block.text; } }
  }

  function reportSize() {
    notify("ui/notifications/size-changed",
           { width: document.documentElement.scrollWidth, height: document.documentElement.scrollHeight });
  }

  function applyContext(ctx) {
    if (!ctx) return;
    if (ctx.theme) document.documentElement.style.colorScheme = ctx.theme;
    var vars = ctx.styles && ctx.styles.variables;
    if (vars) Object.keys(vars).forEach(function (k) { if (vars[k]) document.documentElement.style.setProperty(k, vars[k]); });
  }

  function rerun() {
    var args = { type: document.getElementById("type").value };
    var preset = document.getElementById("preset").value;
    if (preset) args.timeframe = preset;
    if (lastArgs.segments) args.segments = lastArgs.segments;
    lastArgs = args;
    document.getElementById("status").textContent = "Loading " + args.type + " dashboard...";
    request("tools/call", { name: "generate_dashboard", arguments: args }).then(onToolResult, function (err) {
      var status = document.getElementById("status");
      status.className = "error";
      status.textContent = (err && err.message) || "The host refused the call.";
    });
  }
  document.getElementById("type").addEventListener("change", rerun);
  document.getElementById("preset").addEventListener("change", rerun);

  window.addEventListener("message", function (event) {
    var msg = event.data;
    if (!msg || msg.jsonrpc !== "2.0") return;
    if (msg.id !== undefined && msg.method === undefined) {  // a response to one of our requests
      var p = pending[msg.id];
      if (!p) return;
      delete pending[msg.id];
      if (msg.error) p.reject(msg.error); else p.resolve(msg.result);
      return;
    }
    switch (msg.method) {
      case "ui/notifications/tool-input":
        lastArgs = (msg.params && msg.params.arguments) || {};
        document.getElementById("status").textContent =
          "Building the " + (lastArgs.type || "executive") + " dashboard...";
        break;
      case "ui/notifications/tool-result":
        onToolResult(msg.params);
        break;
      case "ui/notifications/tool-cancelled":
        document.getElementById("status").textContent = "Cancelled" + (msg.params && msg.params.reason ? ": " + msg.params.reason : "");
        break;
      case "ui/notifications/host-context-changed":
        applyContext(msg.params);
        break;
      case "ui/resource-teardown":
        send({ jsonrpc: "2.0", id: msg.id, result: {} });
        break;
      default:
        if (msg.id !== undefined) send({ jsonrpc: "2.0", id: msg.id, error: { code: -32601, message: "Method not found" } });
    }
  });

  request("ui/initialize", {
    protocolVersion: PROTOCOL_VERSION,
    appInfo: { name: "psz-dashboard", version: "1.0.0" },
    appCapabilities: {}
  }).then(function (result) {
    applyContext(result && result.hostContext);
    notify("ui/notifications/initialized", {});
  }, function () { notify("ui/notifications/initialized", {}); });

  if (typeof ResizeObserver !== "undefined") new ResizeObserver(reportSize).observe(document.body);
})();
</script>
</body>
</html>
"""
