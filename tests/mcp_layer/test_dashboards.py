"""Dashboards through the SDK's client: the UI-bound generate_dashboard tool (structured tiles,
text, PNG, progress), analyze_metrics, the ui:// MCP App resource, dashboard://{type} and its
completions. Numbers are checked against direct queries of the marts."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import duckdb
import pytest
from mcp import Client
from mcp.server.apps import APP_MIME_TYPE, Apps
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.types import ResourceTemplateReference

from analytics.settings import Settings
from mcp_layer import completions, dashboards

T = TypeVar("T")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
EXAMPLE_CALLS: dict[str, dict[str, Any]] = {
    "generate_dashboard": {"type": "executive", "timeframe": "last_month"},
    "analyze_metrics": {"metrics": ["mrr", "error_rate"], "timeframe": "last_6_months"},
}


def _server(settings: Settings) -> MCPServer:
    apps = Apps()
    dashboards.register_apps(apps, settings)
    server = MCPServer("t", extensions=[apps])
    dashboards.register(server, settings)
    completions.install(server)
    return server


def _with_client(settings: Settings, body: Callable[[Client], Awaitable[T]]) -> T:
    async def main() -> T:
        async with Client(_server(settings)) as client:
            return await body(client)

    return anyio.run(main)


def _ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content


def _error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    text = result.content[0].text
    assert "Traceback" not in text
    return text


def _png(result: Any) -> bytes:
    images = [c for c in result.content if c.type == "image"]
    assert len(images) == 1 and images[0].mime_type == "image/png"
    data = base64.b64decode(images[0].data)
    assert data[:8] == PNG_MAGIC
    return data


def test_tools_are_listed_with_the_app_binding_and_schemas(dbt_settings: Settings) -> None:
    tools = {t.name: t for t in _with_client(dbt_settings, lambda c: c.list_tools()).tools}
    assert set(EXAMPLE_CALLS) <= set(tools)
    gen = tools["generate_dashboard"]
    assert gen.meta and gen.meta["ui"]["resourceUri"] == dashboards.APP_URI
    assert gen.input_schema["required"] == ["type"]
    kinds = gen.input_schema["properties"]["type"]
    assert set(kinds.get("enum") or kinds["anyOf"][0]["enum"]) == {"executive", "operational", "financial",
                                                                   "customer", "technical"}  # fmt: skip
    for tool in (gen, tools["analyze_metrics"]):
        assert tool.description and tool.output_schema and tool.title
        assert (
            tool.annotations
            and tool.annotations.read_only_hint
            and tool.annotations.idempotent_hint
        )
        assert "provenance" in tool.output_schema["properties"]
        assert all(p.get("description") for p in tool.input_schema["properties"].values())


def test_generate_dashboard_returns_tiles_text_png_and_progress(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def body(c: Client) -> Any:
        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, total, message))

        return await c.call_tool(
            "generate_dashboard", EXAMPLE_CALLS["generate_dashboard"], progress_callback=on_progress
        )

    result = _with_client(dbt_settings, body)
    data = _ok(result)
    dashboards.Dashboard.model_validate(data)  # the structured content validates against the model
    assert data["type"] == "executive" and data["timeframe"]["name"] == "last_month"
    tiles = {t["metric"]: t for t in data["tiles"]}
    month, previous = data["timeframe"]["start"], data["timeframe"]["previous_start"]
    mrr = dict(warehouse.execute("select month_start::varchar, ending_mrr from marts.fct_mrr_summary_monthly "
                                 "where month_start in (?, ?)", [month, previous]).fetchall())  # fmt: skip
    assert tiles["mrr"]["value"] == pytest.approx(mrr[month])
    assert tiles["mrr"]["previous_value"] == pytest.approx(mrr[previous])
    assert tiles["mrr"]["change"] == pytest.approx(mrr[month] - mrr[previous])
    assert tiles["mrr"]["sparkline"][-1] == {"period": month, "value": pytest.approx(mrr[month])}
    assert data["provenance"]["sql"] and "marts.fct_mrr_daily" in data["provenance"]["tables"]
    assert {d["name"] for d in data["provenance"]["metric_definitions"]} >= {
        "mrr",
        "nrr",
        "logo_churn_rate",
    }
    text = result.content[0].text
    assert text == data["summary"] and "MRR" in text
    png = _png(result)
    assert len(png) > 5000
    # one notification per tile plus the chart, ending complete
    assert len(progress) == len(data["tiles"]) + 1
    assert [p[0] for p in progress] == sorted(p[0] for p in progress) and progress[-1][
        0
    ] == progress[-1][1]
    assert all(p[2] for p in progress)


def test_every_dashboard_type_renders(dbt_settings: Settings) -> None:
    async def body(c: Client) -> list[Any]:
        return [
            await c.call_tool("generate_dashboard", {"type": kind})
            for kind in dashboards.dash.DASHBOARD_TYPES
        ]

    for kind, result in zip(
        dashboards.dash.DASHBOARD_TYPES, _with_client(dbt_settings, body), strict=True
    ):
        data = _ok(result)
        assert data["type"] == kind and len(data["tiles"]) >= 5
        assert all(t["value"] is not None for t in data["tiles"]), kind
        _png(result)


def test_segments_and_bad_arguments(dbt_settings: Settings) -> None:
    async def body(c: Client) -> list[Any]:
        return [
            await c.call_tool("generate_dashboard", {"type": "customer", "segments": ["smb"]}),
            await c.call_tool("generate_dashboard", {"type": "customer", "segments": ["gold"]}),
            await c.call_tool("generate_dashboard", {"type": "sales"}),
            await c.call_tool(
                "generate_dashboard",
                {"type": "executive", "start": "2026-05-01", "end": "2026-01-01"},
            ),
            await c.call_tool(
                "generate_dashboard",
                {"type": "executive", "timeframe": "last_month", "start": "2026-01-01"},
            ),
            await c.call_tool("analyze_metrics", {"metrics": ["mrrr"]}),
            await c.call_tool("analyze_metrics", {"metrics": []}),
        ]

    smb, gold, sales, inverted, both, unknown, empty = _with_client(dbt_settings, body)
    data = _ok(smb)
    assert data["segments"] == ["smb"]
    assert {t["metric"]: t["segments"] for t in data["tiles"]}["paying_customers"] == ["smb"]
    assert "valid segments: enterprise, mid_market, smb" in _error_text(gold)
    assert "executive" in _error_text(sales) and "technical" in _error_text(sales)
    assert "is after end" in _error_text(inverted)
    assert "either a timeframe preset or start/end" in _error_text(both)
    assert "unknown metric 'mrrr'; closest valid names: mrr" in _error_text(unknown)
    _error_text(empty)


def test_analyze_metrics(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    result = _with_client(
        dbt_settings, lambda c: c.call_tool("analyze_metrics", EXAMPLE_CALLS["analyze_metrics"])
    )
    data = _ok(result)
    dashboards.MetricAnalysis.model_validate(data)
    tf = data["timeframe"]
    assert tf["periods"] == 6 and tf["grain"] == "month"
    mrr = {t["metric"]: t for t in data["tiles"]}["mrr"]
    end_month = tf["end"][:8] + "01"
    expected = warehouse.execute("select ending_mrr from marts.fct_mrr_summary_monthly where month_start = ?",
                                 [end_month]).fetchone()[0]  # fmt: skip
    assert mrr["value"] == pytest.approx(expected)
    trends = {t["metric"]: t for t in data["trends"]}
    assert set(trends) == {"mrr", "error_rate"}
    assert trends["mrr"]["last"] == pytest.approx(expected) and trends["mrr"]["summary"].startswith(
        "MRR is "
    )
    _png(result)


def test_app_resource_and_dashboard_resources(dbt_settings: Settings) -> None:
    async def body(c: Client) -> tuple[Any, Any, Any, str]:
        app = await c.read_resource(dashboards.APP_URI)
        listed = await c.list_resources()
        exec_ = await c.read_resource("dashboard://executive")
        try:
            await c.read_resource("dashboard://nope")
            error = ""
        except MCPError as exc:
            error = str(exc)
        return app, listed, exec_, error

    app, listed, executive, error = _with_client(dbt_settings, body)
    content = app.contents[0]
    assert content.mime_type == APP_MIME_TYPE
    html = content.text
    for needle in ("ui/initialize", "ui/notifications/initialized", "ui/notifications/tool-result",
                   "ui/notifications/tool-input", "structuredContent", "window.parent.postMessage", 'createElementNS(ns, "svg")'):  # fmt: skip
        assert needle in html
    assert (
        "http://" not in html.replace("http://www.w3.org/2000/svg", "") and "https://" not in html
    )  # no network
    assert dashboards.APP_URI in {str(r.uri) for r in listed.resources}
    assert executive.contents[0].mime_type == "application/json"
    data = json.loads(executive.contents[0].text)
    dashboards.Dashboard.model_validate(data)
    assert data["type"] == "executive" and data["tiles"]
    assert (
        "unknown dashboard type 'nope'" in error
        and "executive, operational, financial, customer, technical" in error
    )


def test_dashboard_type_completion(dbt_settings: Settings) -> None:
    ref = ResourceTemplateReference(type="ref/resource", uri="dashboard://{type}")
    result = _with_client(dbt_settings, lambda c: c.complete(ref, {"name": "type", "value": "fin"}))
    assert result.completion.values == ["financial"]
    everything = _with_client(
        dbt_settings, lambda c: c.complete(ref, {"name": "type", "value": ""})
    )
    assert set(everything.completion.values) == set(dashboards.dash.DASHBOARD_TYPES)
