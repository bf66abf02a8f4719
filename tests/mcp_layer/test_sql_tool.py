"""`run_sql` through the SDK's client, in memory: rows against a direct query, paging, refusals
and bad arguments as readable tool errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio
from mcp import Client
from mcp.server.mcpserver import MCPServer

from analytics.settings import Settings
from analytics.warehouse import read_only_connection
from mcp_layer import sql_tool

T = TypeVar("T")

EXAMPLE_CALLS: dict[str, dict[str, Any]] = {
    "run_sql": {
        "sql": "select segment, count(*) as customers from marts.dim_customers group by segment order by segment",
        "page_size": 50,
    },
}


def _with_client(settings: Settings, body: Callable[[Client], Awaitable[T]]) -> T:
    async def main() -> T:
        server = MCPServer("t")
        sql_tool.register(server, settings)
        async with Client(server) as client:
            return await body(client)

    return anyio.run(main)


def _call(settings: Settings, args: dict[str, Any]) -> Any:
    return _with_client(settings, lambda c: c.call_tool("run_sql", args))


def _text(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def _direct(settings: Settings, sql: str) -> list[list[Any]]:
    with read_only_connection(settings) as con:
        rows = con.execute(sql).fetchall()
    return [[v.isoformat() if isinstance(v, dt.date) else v for v in row] for row in rows]


def test_tool_is_listed_read_only_with_described_bounded_arguments(dbt_settings: Settings) -> None:
    tools = {t.name: t for t in _with_client(dbt_settings, lambda c: c.list_tools()).tools}
    assert set(tools) == set(EXAMPLE_CALLS)
    tool = tools["run_sql"]
    assert tool.title == "Run a read-only SQL query" and tool.output_schema
    assert (
        tool.annotations
        and tool.annotations.read_only_hint
        and not tool.annotations.destructive_hint
    )
    assert "query_metrics" in (tool.description or "") and "schema://" in (tool.description or "")
    props = tool.input_schema["properties"]
    assert set(props) == {"sql", "page_size", "cursor", "timeout_seconds"}
    assert all(p.get("description") for p in props.values())
    assert props["page_size"]["maximum"] == 1000 and props["timeout_seconds"]["maximum"] == 60
    assert "provenance" in tool.output_schema["properties"]


def test_example_call_matches_a_direct_query(dbt_settings: Settings) -> None:
    result = _call(dbt_settings, EXAMPLE_CALLS["run_sql"])
    assert not result.is_error, _text(result)
    out = result.structured_content
    want = _direct(
        dbt_settings,
        "select segment, count(customer_id) from marts.dim_customers group by 1 order by 1",
    )
    assert out["rows"] == want and out["row_count"] == len(want) and out["total_rows"] == len(want)
    assert [c["name"] for c in out["columns"]] == ["segment", "customers"]
    assert [c["type"] for c in out["columns"]] == ["VARCHAR", "BIGINT"]
    assert not out["has_more"] and out["next_cursor"] is None and out["ordered"]
    prov = out["provenance"]
    assert prov["tables"] == ["marts.dim_customers"] and "LIMIT 51 OFFSET 0" in prov["sql"][0]
    assert prov["freshness"]["checked_at"]


def test_paging_through_the_cursor(dbt_settings: Settings) -> None:
    sql = "select customer_id, customer_name, created_at from marts.dim_customers order by customer_id"
    want = _direct(
        dbt_settings,
        "select customer_id, customer_name, created_at from marts.dim_customers order by 1",
    )

    async def body(client: Client) -> list[list[Any]]:
        got: list[list[Any]] = []
        result = await client.call_tool("run_sql", {"sql": sql, "page_size": 70})
        while True:
            assert not result.is_error, _text(result)
            out = result.structured_content
            assert out["offset"] == len(got)
            got.extend(out["rows"])
            if not out["has_more"]:
                assert out["total_rows"] == len(got)
                return got
            result = await client.call_tool(
                "run_sql", {"cursor": out["next_cursor"], "page_size": 70}
            )

    got = _with_client(dbt_settings, body)
    assert len(want) > 140
    assert [r[:2] for r in got] == [r[:2] for r in want]
    assert [dt.datetime.fromisoformat(r[2]) for r in got] == [r[2] if isinstance(r[2], dt.datetime)
                                                              else dt.datetime.fromisoformat(r[2]) for r in want]  # fmt: skip


def test_refused_query_is_a_readable_tool_error(dbt_settings: Settings) -> None:
    for sql, fragment in [
        ("select * from raw_stripe.charges", "schema 'raw_stripe'"),
        ("select 1 from marts.dim_plans; drop table marts.dim_plans", "exactly one statement"),
        ("select * from read_csv('/etc/passwd')", "read_csv"),
        ("delete from marts.fct_invoices", "DELETE"),
    ]:
        result = _call(dbt_settings, {"sql": sql})
        text = _text(result)
        assert result.is_error and fragment in text and "Allowed: one SELECT" in text, text
        assert "Traceback" not in text


def test_bad_arguments_are_tool_errors(dbt_settings: Settings) -> None:
    for args, fragment in [
        ({"sql": "select 1 from marts.dim_plans", "page_size": 10**9}, "page_size"),
        ({"sql": "select 1 from marts.dim_plans", "timeout_seconds": -1}, "timeout_seconds"),
        ({"cursor": "definitely-not-a-cursor"}, "cursor is not valid"),
        ({}, "pass sql"),
        ({"sql": "select no_such_column from marts.dim_plans"}, "no_such_column"),
        (
            {
                "sql": "with recursive t(n) as (select 1 union all select n + 1 from t) select count(*) from t",
                "timeout_seconds": 1,
            },
            "time limit",
        ),
    ]:
        result = _call(dbt_settings, args)
        text = _text(result)
        assert result.is_error and fragment in text, (args, text)
        assert "Traceback" not in text
