"""The business intelligence tools through the SDK's client: in memory and over stdio."""

from __future__ import annotations

import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
import duckdb
import pytest
from mcp import Client, StdioServerParameters

from analytics.settings import Settings
from mcp_layer.server import UnknownDomainError, build_server

T = TypeVar("T")
EXPECTED_TOOLS = {"list_metrics", "query_metrics", "health_check"}


def _with_client(settings: Settings, body: Callable[[Client], Awaitable[T]]) -> T:
    async def main() -> T:
        async with Client(build_server(["business_intelligence"], settings)) as client:
            return await body(client)

    return anyio.run(main)


def _call(settings: Settings, tool: str, args: dict[str, Any] | None = None) -> Any:
    return _with_client(settings, lambda c: c.call_tool(tool, args or {}))


def test_tools_are_listed_with_schemas_and_read_only_annotations(dbt_settings: Settings) -> None:
    tools = {t.name: t for t in _with_client(dbt_settings, lambda c: c.list_tools()).tools}
    assert set(tools) == EXPECTED_TOOLS
    for tool in tools.values():
        assert tool.description and tool.output_schema
        assert (
            tool.annotations
            and tool.annotations.read_only_hint
            and tool.annotations.idempotent_hint
        )
    props = tools["query_metrics"].input_schema["properties"]
    assert {"metrics", "grain", "dimensions", "start", "end", "filters", "order", "limit"} <= set(
        props
    )
    assert all(p.get("description") for p in props.values())


def test_list_metrics(dbt_settings: Settings) -> None:
    result = _call(dbt_settings, "list_metrics")
    assert not result.is_error
    by_name = {m["name"]: m for m in result.structured_content["metrics"]}
    assert "mrr" in by_name and by_name["mrr"]["description"]
    assert "month" in by_name["mrr"]["grains"] and by_name["mrr"]["dimensions"]


def test_query_mrr_by_month_matches_the_mart(dbt_settings: Settings) -> None:
    result = _call(
        dbt_settings, "query_metrics", {"metrics": ["mrr"], "grain": "month", "order": ["period"]}
    )
    assert not result.is_error, result.content
    out = result.structured_content
    got = {row["period"][:10]: row["mrr"] for row in out["rows"]}
    with duckdb.connect(str(dbt_settings.warehouse_path), read_only=True) as con:
        want = {str(m)[:10]: float(v) for m, v in con.execute(
            "select month_start, ending_mrr from marts.fct_mrr_summary_monthly order by month_start"
        ).fetchall()}  # fmt: skip
    assert got.keys() == want.keys() and len(got) > 6
    for month, value in want.items():
        assert got[month] == pytest.approx(value, rel=1e-9, abs=1e-6), month
    assert out["columns"] == ["period", "mrr"] and out["row_count"] == len(want)
    assert "select" in out["sql"].lower()
    assert out["definitions"][0]["name"] == "mrr" and out["definitions"][0]["definition"]
    assert out["freshness"]["sources_loaded_at"]["stripe"]


def test_unknown_metric_is_a_tool_error_with_the_closest_name(dbt_settings: Settings) -> None:
    result = _call(dbt_settings, "query_metrics", {"metrics": ["mrrr"]})
    assert result.is_error
    text = result.content[0].text
    assert "unknown metric 'mrrr'" in text and "mrr" in text and "Traceback" not in text


def test_bad_arguments_are_tool_errors(dbt_settings: Settings) -> None:
    inverted = _call(
        dbt_settings,
        "query_metrics",
        {"metrics": ["mrr"], "start": "2025-06-01", "end": "2025-01-01"},
    )
    assert inverted.is_error and "after end" in inverted.content[0].text
    bad_dim = _call(dbt_settings, "query_metrics", {"metrics": ["mrr"], "dimensions": ["segmnt"]})
    assert bad_dim.is_error and "closest valid names" in bad_dim.content[0].text
    huge = _call(dbt_settings, "query_metrics", {"metrics": ["mrr"], "limit": 10**9})
    assert huge.is_error


def test_health_check_reports_stripe_freshness(dbt_settings: Settings) -> None:
    result = _call(dbt_settings, "health_check")
    assert not result.is_error
    out = result.structured_content
    assert out["warehouse_reachable"] and out["status"] in {"ok", "degraded"}
    assert out["freshness"]["sources_loaded_at"]["stripe"] is not None
    assert out["metrics_available"] and out["versions"]["mcp"]


def test_unknown_domain_is_refused(dbt_settings: Settings) -> None:
    with pytest.raises(UnknownDomainError, match="business_intelligence"):
        build_server(["finance"], dbt_settings)


def test_psz_mcp_over_stdio(dbt_settings: Settings) -> None:
    psz = Path(sys.executable).parent / "psz"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSZ_")}
    env["PSZ_DATA_DIR"] = str(dbt_settings.data_dir)
    params = StdioServerParameters(command=str(psz), args=["mcp", "--domains", "business_intelligence"],
                                   env=env, cwd=str(Path(__file__).parents[2]))  # fmt: skip

    async def main() -> tuple[set[str], Any]:
        with anyio.fail_after(60):
            async with Client(params) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                return names, await client.call_tool("list_metrics", {})

    names, result = anyio.run(main)
    assert names == EXPECTED_TOOLS
    assert not result.is_error
    assert "mrr" in {m["name"] for m in result.structured_content["metrics"]}
