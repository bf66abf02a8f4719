"""Shared helpers for the gateway-wide tests: the whole server's contract and example calls."""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from mcp import Client, StdioServerParameters

from analytics.settings import Settings

REPO = Path(__file__).parents[2]
# test module -> the tools its EXAMPLE_CALLS cover (each domain's test module defines them)
EXAMPLE_MODULES = (
    "tests.mcp_layer.test_business_intelligence",
    "tests.mcp_layer.test_dashboards",
    "tests.mcp_layer.test_sql_tool",
    "tests.mcp_layer.test_financial_management",
    "tests.mcp_layer.test_customer_success",
    "tests.mcp_layer.test_technical_operations",
    "tests.mcp_layer.test_sales_marketing",
)


def example_calls() -> dict[str, dict[str, Any]]:
    """One valid argument set per tool, gathered from every domain's test module."""
    calls: dict[str, dict[str, Any]] = {}
    for name in EXAMPLE_MODULES:
        calls.update(importlib.import_module(name).EXAMPLE_CALLS)
    return calls


def stdio_params(settings: Settings, *args: str) -> StdioServerParameters:
    """`psz mcp` over stdio, reading the given settings' warehouse."""
    psz = Path(sys.executable).parent / "psz"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSZ_")}
    env["PSZ_DATA_DIR"] = str(settings.data_dir)
    return StdioServerParameters(command=str(psz), args=["mcp", *args], env=env, cwd=str(REPO))


VOLATILE = {"checked_at", "age_hours", "guard_ms", "query_ms"}


def without_volatile(value: Any) -> Any:
    """A result with the parts that differ between two identical calls removed: check times,
    timings, float noise beyond 10 significant digits, MetricFlow's subquery alias counters."""
    if isinstance(value, dict):
        return {k: without_volatile(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [without_volatile(v) for v in value]
    if isinstance(value, float):  # parallel aggregation sums in varying order: last-bit noise
        return float(f"{value:.10g}")
    if isinstance(value, str) and "subq_" in value:
        return re.sub(r"subq_\d+", "subq_N", value)
    return value


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=1)


async def contract_of(client: Client) -> dict[str, Any]:
    """The public face of a server: tools (schemas, annotations, _meta), resources, templates and
    prompts, in a stable order."""
    tools = (await client.list_tools()).tools
    resources = (await client.list_resources()).resources
    templates = (await client.list_resource_templates()).resource_templates
    prompts = (await client.list_prompts()).prompts
    return {
        "tools": {
            t.name: {
                "title": t.title,
                "input_schema": t.input_schema,
                "output_schema": t.output_schema,
                "annotations": t.annotations.model_dump(exclude_none=True) if t.annotations else None,
                "meta": t.meta,
            }
            for t in sorted(tools, key=lambda t: t.name)
        },
        "resources": sorted(r.uri for r in resources),
        "resource_templates": sorted(t.uri_template for t in templates),
        "prompts": {
            p.name: sorted((a.name, bool(a.required)) for a in (p.arguments or []))
            for p in sorted(prompts, key=lambda p: p.name)
        },
    }
