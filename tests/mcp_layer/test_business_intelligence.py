"""The business intelligence domain through the SDK's client: metric tools, insights, live
forecasts and anomaly scans, model quality, resources, completions and the review prompt. The
numbers are checked against direct queries of the marts and the analytics tables."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
import duckdb
import pytest
from mcp import Client
from mcp.types import PromptReference, ResourceTemplateReference

from analytics.settings import Settings
from mcp_layer.server import UnknownDomainError, build_server

from .gateway import stdio_params

T = TypeVar("T")
OWN_TOOLS = {"list_metrics", "query_metrics", "list_dimension_values", "get_insights", "forecast_metric",
             "detect_anomalies", "model_performance", "health_check"}  # fmt: skip
EXAMPLE_CALLS: dict[str, dict[str, Any]] = {
    "list_metrics": {},
    "query_metrics": {"metrics": ["mrr", "paying_customers"], "grain": "month", "start": "2026-01-01"},
    "list_dimension_values": {"dimension": "segment", "metric": "mrr"},
    "get_insights": {"min_priority": "medium", "limit": 5},
    "forecast_metric": {"metric": "mrr", "horizon": 3, "method": "fast_ets"},
    "detect_anomalies": {"metric": "api_requests", "grain": "day"},
    "model_performance": {"model": "churn"},
    "health_check": {},
}


def _with_client(settings: Settings, body: Callable[[Client], Awaitable[T]]) -> T:
    async def main() -> T:
        async with Client(build_server(["business_intelligence"], settings)) as client:
            return await body(client)

    return anyio.run(main)


def _call(settings: Settings, tool: str, args: dict[str, Any] | None = None) -> Any:
    return _with_client(settings, lambda c: c.call_tool(tool, args or {}))


def _ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    return result.structured_content


def _error_text(result: Any) -> str:
    assert result.is_error, result.structured_content
    text = result.content[0].text
    assert "Traceback" not in text
    return text


def test_tools_are_listed_with_schemas_and_read_only_annotations(dbt_settings: Settings) -> None:
    tools = {t.name: t for t in _with_client(dbt_settings, lambda c: c.list_tools()).tools}
    assert OWN_TOOLS <= set(tools) and {"generate_dashboard", "run_sql"} <= set(tools)
    for tool in tools.values():
        assert tool.description and tool.output_schema
        assert tool.annotations and tool.annotations.read_only_hint and tool.annotations.idempotent_hint
    props = tools["query_metrics"].input_schema["properties"]
    assert {"metrics", "grain", "dimensions", "start", "end", "filters", "order", "limit"} <= set(props)
    assert all(p.get("description") for p in props.values())


def test_list_metrics(dbt_settings: Settings) -> None:
    by_name = {m["name"]: m for m in _ok(_call(dbt_settings, "list_metrics"))["metrics"]}
    assert {"mrr", "arr", "nrr", "average_health_score", "weighted_pipeline"} <= set(by_name)
    assert "month" in by_name["mrr"]["grains"] and "customer_month__segment" in by_name["mrr"]["dimensions"]
    assert by_name["mrr"]["grains"][0] == "day" and by_name["nrr"]["grains"] == ["month", "quarter", "year"]


def test_query_mrr_by_month_matches_the_mart(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    out = _ok(_call(dbt_settings, "query_metrics", {"metrics": ["mrr"], "grain": "month", "order": ["period"]}))
    got = {row["period"][:10]: row["mrr"] for row in out["rows"]}
    want = {str(m)[:10]: float(v) for m, v in warehouse.execute(
        "select month_start, ending_mrr from marts.fct_mrr_summary_monthly order by month_start").fetchall()}  # fmt: skip
    assert got.keys() == want.keys() and len(got) > 6
    assert got == pytest.approx(want, rel=1e-9, abs=1e-6)
    assert out["columns"] == ["period", "mrr"] and out["row_count"] == len(want)
    prov = out["provenance"]
    assert "select" in prov["sql"][0].lower() and "marts.fct_mrr_daily" in prov["tables"]
    assert prov["metric_definitions"][0]["name"] == "mrr" and prov["metric_definitions"][0]["definition"]
    assert prov["freshness"]["sources_loaded_at"]["stripe"] and prov["freshness"]["models_built_at"]


def test_query_by_segment_with_filter_matches_the_mart(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    out = _ok(_call(dbt_settings, "query_metrics", {
        "metrics": ["mrr"], "grain": "month", "dimensions": ["segment"], "filters": {"segment": ["smb", "enterprise"]},
        "start": "2026-06-01", "end": "2026-06-30"}))  # fmt: skip
    got = {r["segment"]: r["mrr"] for r in out["rows"]}
    want = dict(warehouse.execute("""
        select segment, sum(end_mrr) from marts.fct_customer_mrr_monthly
        where month_start = '2026-06-01' and segment in ('smb', 'enterprise') group by 1""").fetchall())  # fmt: skip
    assert got == pytest.approx({k: float(v) for k, v in want.items()})


def test_dimension_values_match_the_table(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    out = _ok(_call(dbt_settings, "list_dimension_values", {"dimension": "segment", "metric": "mrr"}))
    want = dict(warehouse.execute("select segment, count(*) from marts.fct_customer_mrr_monthly group by 1").fetchall())
    assert out["dimension"] == "customer_month__segment" and out["table"] == "marts.fct_customer_mrr_monthly"
    assert {v["value"]: v["rows"] for v in out["values"]} == want
    assert out["total"] == len(want) and not out["truncated"]
    one = _ok(_call(dbt_settings, "list_dimension_values", {"dimension": "api_endpoint_day__endpoint", "limit": 1}))
    assert len(one["values"]) == 1 and one["truncated"] and one["total"] > 1
    ambiguous = _error_text(_call(dbt_settings, "list_dimension_values", {"dimension": "segment"}))
    assert "ambiguous" in ambiguous and "customer_month__segment" in ambiguous


def test_insights_match_the_analytics_table(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    out = _ok(_call(dbt_settings, "get_insights", {"limit": 100}))
    want = warehouse.execute("select id, title, priority, confidence from analytics.insights order by rank").fetchall()
    assert [(i["id"], i["title"], i["priority"]) for i in out["insights"]] == [w[:3] for w in want]
    assert out["total"] == len(want) and not out["truncated"]
    first = out["insights"][0]
    assert first["recommendations"] and first["data_points"] and first["impact"]["financial"] is not None
    risks = _ok(_call(dbt_settings, "get_insights", {"types": ["risk"], "limit": 1}))
    n_risks = warehouse.execute("select count(*) from analytics.insights where type = 'risk'").fetchone()[0]
    assert all(i["type"] == "risk" for i in risks["insights"]) and risks["total"] == n_risks
    assert risks["truncated"] == (n_risks > 1)


def test_forecast_reports_progress_and_a_chart(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    result = _with_client(dbt_settings, lambda c: c.call_tool(
        "forecast_metric", {"metric": "mrr", "horizon": 4, "method": "fast_ets"}, progress_callback=on_progress))  # fmt: skip
    out = _ok(result)
    assert len(out["forecast"]) == 4 and out["method"] == "fast_ets"
    assert all(p["yhat_lower"] <= p["yhat"] <= p["yhat_upper"] for p in out["forecast"])
    history = {h["ds"][:10]: h["y"] for h in out["history"]}
    want = {str(m): float(v) for m, v in warehouse.execute(
        "select month_start, ending_mrr from marts.fct_mrr_summary_monthly").fetchall()}  # fmt: skip
    assert history == pytest.approx({k: want[k] for k in history})
    assert {m["method"] for m in out["backtest"]} >= {"fast_ets", "seasonal_naive"}
    assert len(progress) >= 3 and progress[-1][0] == progress[-1][1]
    image = [c for c in result.content if c.type == "image"]
    assert image and base64.b64decode(image[0].data)[:8] == b"\x89PNG\r\n\x1a\n"


def test_detect_anomalies_finds_the_planted_usage_surge(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    out = _ok(_call(dbt_settings, "detect_anomalies", {"metric": "api_requests", "grain": "day"}))
    planted = warehouse.execute(
        "select cast(start as date), cast(\"end\" as date) from demo_truth.anomalies where kind = 'usage_surge'").fetchall()  # fmt: skip
    windows = [(w["start"], w["end"]) for w in out["windows"]]
    for start, end in planted:
        assert any(s <= str(end) and e >= str(start) for s, e in windows), (start, end, windows)
    daily = dict(warehouse.execute("select date_day, sum(requests) from marts.fct_api_metrics_daily group by 1").fetchall())
    for point in out["anomalies"]:
        assert point["value"] == pytest.approx(float(daily[dt.date.fromisoformat(point["ds"][:10])]))
    assert out["periods"] == len(daily)


def test_detect_anomalies_skips_the_warm_up_and_names_the_windows_dates(
        dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    """Before: api_requests was "down 98%" on its first 5 days (the history warm-up), and the text
    said "8 anomalous day(s) in 2 window(s)" without a date."""
    result = _call(dbt_settings, "detect_anomalies", {"metric": "api_requests", "grain": "day"})
    out = _ok(result)
    (first_day,) = warehouse.execute("select min(date_day) from marts.fct_api_metrics_daily").fetchone()  # type: ignore[misc]
    assert out["warmup_periods"] == 14
    assert out["first_scored"][:10] == str(first_day + dt.timedelta(days=14))
    assert out["windows"] and min(w["start"] for w in out["windows"]) >= out["first_scored"]
    assert out["points_scored"] <= out["periods"] - 14
    text = result.content[0].text
    for w in out["windows"][-10:]:
        dates = w["start"][:10] if w["start"] == w["end"] else f"{w['start'][:10]} to {w['end'][:10]}"
        assert dates in text and f"api_requests {w['direction']}, peak {w['peak_ds'][:10]}" in text
    assert "first 14 days of the series are not scored: the model needs 14 days of history" in text


def test_model_performance_matches_the_evaluation(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    out = _ok(_call(dbt_settings, "model_performance", {"model": "churn"}))
    got = {m["metric"]: m["value"] for m in out["metrics"]}
    want = dict(warehouse.execute("select metric, value from analytics.churn_evaluation").fetchall())
    assert got["roc_auc"] == pytest.approx(want["roc_auc"]) and 0.5 < got["roc_auc"] <= 1
    every = _ok(_call(dbt_settings, "model_performance"))
    models = {m["model"] for m in every["metrics"]}
    assert models >= {"churn", "lead_scoring"} and any(m.startswith("forecast:") for m in models)
    assert any(b["is_chosen"] for b in every["forecast_backtests"])
    assert "lead_scoring" in _error_text(_call(dbt_settings, "model_performance", {"model": "nope"}))


def test_health_check_reports_freshness(dbt_settings: Settings) -> None:
    out = _ok(_call(dbt_settings, "health_check"))
    assert out["warehouse_reachable"] and out["status"] in {"ok", "degraded"}
    assert out["freshness"]["sources_loaded_at"]["stripe"] is not None
    assert out["metrics_available"] and out["versions"]["mcp"]


@pytest.mark.parametrize(("tool", "args", "expected"), [
    ("query_metrics", {"metrics": ["mrrr"]}, "closest valid names: mrr"),
    ("query_metrics", {"metrics": ["mrr"], "start": "2025-06-01", "end": "2025-01-01"}, "after end"),
    ("query_metrics", {"metrics": ["mrr"], "dimensions": ["segmnt"]}, "closest valid names"),
    ("query_metrics", {"metrics": ["mrr"], "limit": 10**9}, "limit"),
    ("query_metrics", {"metrics": ["mrr"], "grain": "fortnight"}, "grain"),
    ("query_metrics", {"metrics": ["mrr", "nrr"], "grain": "day"}, "nrr cannot be queried by day: finest grain nrr month"),
    ("query_metrics", {"metrics": "mrr; drop table x"}, "metrics"),
    ("query_metrics", {"metrics": ["mrr"], "start": "yesterday"}, "start"),
    ("query_metrics", {"metrics": ["mrr"], "filters": {"segment": "x'; drop table y; --"}}, "not allowed"),
    ("forecast_metric", {"metric": "mrr", "horizon": 1000}, "horizon"),
    ("forecast_metric", {"metric": "nope"}, "closest valid names"),
    ("detect_anomalies", {"metric": "mrr", "sensitivity": 2}, "sensitivity"),
    ("detect_anomalies", {"metric": "mrr", "start": "2031-01-01"}, "data through"),
    ("get_insights", {"types": ["gossip"]}, "types"),
    ("list_dimension_values", {"dimension": "colour"}, "closest valid names"),
])  # fmt: skip
def test_bad_arguments_are_clear_tool_errors(dbt_settings: Settings, tool: str, args: dict[str, Any], expected: str) -> None:
    assert expected in _error_text(_call(dbt_settings, tool, args))


def test_resources_match_the_warehouse(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    async def body(client: Client) -> dict[str, Any]:
        out = {}
        for uri in ("metrics://catalog", "metrics://definition/mrr", "insights://latest", "anomalies://latest",
                    "schema://tables", "schema://table/marts.fct_mrr_daily"):  # fmt: skip
            out[uri] = json.loads((await client.read_resource(uri)).contents[0].text)
        return out

    got = _with_client(dbt_settings, body)
    assert "mrr" in {m["name"] for m in got["metrics://catalog"]["metrics"]}
    assert got["metrics://definition/mrr"]["definition"]["type_params"]
    n_insights, n_windows = warehouse.execute(
        "select (select count(*) from analytics.insights), (select count(*) from analytics.anomaly_windows)").fetchone()  # fmt: skip
    assert len(got["insights://latest"]["insights"]) == n_insights
    assert len(got["anomalies://latest"]["windows"]) == n_windows
    assert got["insights://latest"]["provenance"]["sql"]
    tables = {f"{t['schema']}.{t['table']}" for t in got["schema://tables"]["tables"]}
    assert "marts.fct_mrr_daily" in tables and "analytics.churn_predictions" in tables
    assert not any(t.startswith("raw_") for t in tables)
    cols = [c["column"] for c in got["schema://table/marts.fct_mrr_daily"]["columns"]]
    want = [r[0] for r in warehouse.execute("select column_name from information_schema.columns where table_schema = "
                                            "'marts' and table_name = 'fct_mrr_daily' order by ordinal_position").fetchall()]  # fmt: skip
    assert cols == want
    assert any(c["description"] for c in got["schema://table/marts.fct_mrr_daily"]["columns"])


def test_unknown_resources_are_clear_errors(dbt_settings: Settings) -> None:
    async def body(client: Client) -> list[str]:
        errors = []
        for uri in ("metrics://definition/mrrr", "schema://table/raw_stripe.charges"):
            try:
                await client.read_resource(uri)
            except Exception as exc:  # noqa: BLE001 - the protocol error is what we check
                errors.append(str(exc))
        return errors

    errors = _with_client(dbt_settings, body)
    assert len(errors) == 2 and "mrr" in errors[0] and "marts" in errors[1]


def test_completions_for_metric_and_table_names(dbt_settings: Settings) -> None:
    async def body(client: Client) -> tuple[list[str], list[str]]:
        metric = await client.complete(ResourceTemplateReference(type="ref/resource", uri="metrics://definition/{metric}"),
                                       {"name": "metric", "value": "mr"})  # fmt: skip
        table = await client.complete(ResourceTemplateReference(type="ref/resource", uri="schema://table/{table}"),
                                      {"name": "table", "value": "fct_mrr"})  # fmt: skip
        return metric.completion.values, table.completion.values

    metrics, tables = _with_client(dbt_settings, body)
    assert metrics[0] == "mrr" and "arr" not in metrics
    assert "marts.fct_mrr_daily" in tables and all("fct_mrr" in t for t in tables)
    _ = PromptReference  # prompts complete through the same handler (see the domain tests)


def test_weekly_review_prompt_is_grounded_in_the_marts(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    prompt = _with_client(dbt_settings, lambda c: c.get_prompt("weekly_business_review", {"audience": "board"}))
    text = prompt.messages[0].content.text
    ending = warehouse.execute("select ending_mrr from marts.fct_mrr_summary_monthly order by month_start desc limit 1").fetchone()[0]
    assert "board" in text and f"{float(ending)}"[:6] in text
    assert "marts.fct_mrr_summary_monthly" in text and "Use only the facts below" in text


def test_unknown_domain_is_refused(dbt_settings: Settings) -> None:
    with pytest.raises(UnknownDomainError, match="business_intelligence"):
        build_server(["finances"], dbt_settings)


def test_psz_mcp_over_stdio(dbt_settings: Settings) -> None:
    async def main() -> tuple[set[str], Any]:
        with anyio.fail_after(60):
            async with Client(stdio_params(dbt_settings, "--domains", "business_intelligence")) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                return names, await client.call_tool("list_metrics", {})

    names, result = anyio.run(main)
    assert OWN_TOOLS <= names
    assert "mrr" in {m["name"] for m in _ok(result)["metrics"]}
