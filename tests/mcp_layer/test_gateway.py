"""The whole gateway: its pinned contract, and every tool called over stdio (`psz mcp`) giving
the same answer as in memory (whose numbers each domain's tests check against the marts)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import anyio
from mcp import Client

from analytics.settings import Settings
from mcp_layer.server import DOMAINS, build_server

from .gateway import canonical, contract_of, example_calls, stdio_params, without_volatile

CONTRACT = Path(__file__).with_name("contract.json")
MAX_TOOLS = 40  # an assistant picks tools worse beyond a few dozen (issue 5)


def _contract(settings: Settings) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        async with Client(build_server(None, settings)) as client:
            return await contract_of(client)

    return anyio.run(main)


def test_contract_is_pinned(make_settings: Any) -> None:
    """Tool names, input and output schemas, resources and prompts are a contract: a change must
    be deliberate. Regenerate with `UPDATE_MCP_CONTRACT=1 uv run pytest tests/mcp_layer/test_gateway.py`."""
    contract = json.loads(canonical(_contract(make_settings())))
    if os.environ.get("UPDATE_MCP_CONTRACT"):
        CONTRACT.write_text(canonical(contract) + "\n")
    pinned = json.loads(CONTRACT.read_text())
    changed = sorted(set(contract["tools"]) ^ set(pinned["tools"]))
    assert not changed, f"tools added or removed: {changed} (update the contract if deliberate)"
    for name, tool in contract["tools"].items():
        assert tool == pinned["tools"][name], f"tool {name!r} changed its schema (update the contract if deliberate)"
    assert contract == pinned


def test_gateway_stays_small_and_every_tool_is_described(make_settings: Any) -> None:
    contract = _contract(make_settings())
    assert 0 < len(contract["tools"]) < MAX_TOOLS
    for name, tool in contract["tools"].items():
        assert tool["output_schema"], f"{name} has no output schema"
        assert tool["annotations"]["read_only_hint"] is True, name
        props = tool["input_schema"].get("properties", {})
        undocumented = [p for p, spec in props.items() if not spec.get("description")]
        assert not undocumented, f"{name}: parameters without description: {undocumented}"
    assert set(example_calls()) == set(contract["tools"]), "every tool needs an EXAMPLE_CALLS entry"


def test_each_domain_serves_alone(make_settings: Any) -> None:
    settings = make_settings()
    every = set(_contract(settings)["tools"])
    seen: set[str] = set()

    async def tools_of(domain: str) -> set[str]:
        async with Client(build_server([domain], settings)) as client:
            return {t.name for t in (await client.list_tools()).tools}

    for domain in DOMAINS:
        alone = anyio.run(tools_of, domain)
        assert alone, domain
        seen |= alone
    assert seen == every


def test_every_tool_over_stdio_matches_in_memory(dbt_settings: Settings) -> None:
    calls = example_calls()

    async def run_all(client: Client) -> dict[str, Any]:
        out = {}
        for name, args in calls.items():
            result = await client.call_tool(name, args)
            assert not result.is_error, f"{name}({args}): {result.content}"
            out[name] = without_volatile(result.structured_content)
        return out

    async def main() -> tuple[dict[str, Any], dict[str, Any]]:
        with anyio.fail_after(300):
            async with Client(stdio_params(dbt_settings)) as client:
                over_stdio = await run_all(client)
            async with Client(build_server(None, dbt_settings)) as client:
                in_memory = await run_all(client)
        return over_stdio, in_memory

    over_stdio, in_memory = anyio.run(main)
    for name in calls:
        assert over_stdio[name] == in_memory[name], name
        numeric = name not in {"health_check", "list_metrics"}  # a status and a catalogue, not numbers
        assert over_stdio[name].get("provenance") or not numeric, f"{name} answers without provenance"


def test_static_resources_read_over_stdio(dbt_settings: Settings) -> None:
    async def main() -> dict[str, Any]:
        with anyio.fail_after(60):
            async with Client(stdio_params(dbt_settings)) as client:
                uris = [str(r.uri) for r in (await client.list_resources()).resources if not str(r.uri).startswith("ui://")]
                return {uri: json.loads((await client.read_resource(uri)).contents[0].text) for uri in uris}

    bodies = anyio.run(main)
    assert {"metrics://catalog", "insights://latest", "anomalies://latest", "schema://tables"} <= set(bodies)
    for uri, body in bodies.items():
        assert body and all(v for v in body.values()), uri


def test_streamable_http_transport(dbt_settings: Settings, warehouse: Any) -> None:
    """`psz mcp --transport http` serves the same tools to a client over Streamable HTTP."""
    import socket
    import subprocess

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    params = stdio_params(dbt_settings, "--transport", "http", "--port", str(port))
    proc = subprocess.Popen([params.command, *params.args], env=params.env, cwd=params.cwd,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip

    async def main() -> Any:
        with anyio.fail_after(90):
            while True:  # until the server listens
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                        break
                except OSError:
                    assert proc.poll() is None, proc.stderr.read().decode()[-2000:]  # type: ignore[union-attr]
                    await anyio.sleep(0.2)
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                return await client.call_tool("query_metrics", {"metrics": ["paying_customers"], "grain": "month"})

    try:
        result = anyio.run(main)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert not result.is_error, result.content
    got = {r["period"][:10]: r["paying_customers"] for r in result.structured_content["rows"]}
    want = {str(m): float(v) for m, v in warehouse.execute(
        "select month_start, paying_customers_end from marts.fct_mrr_summary_monthly").fetchall()}  # fmt: skip
    assert got == want


def test_vscode_config_starts_the_server(dbt_settings: Settings) -> None:
    """`.vscode/mcp.json` (also shown in the README) launches a working server."""
    import shutil

    from mcp import StdioServerParameters

    from .gateway import REPO

    config = json.loads((REPO / ".vscode" / "mcp.json").read_text())["servers"]["psz"]
    uv = shutil.which(config["command"]) or str(REPO / ".tools" / "bin" / "uv")
    subst = lambda s: s.replace("${workspaceFolder}", str(REPO))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSZ_")}
    env |= {k: subst(v) for k, v in config["env"].items()}
    env["PSZ_DATA_DIR"] = str(dbt_settings.data_dir)  # the test's warehouse instead of ./data
    params = StdioServerParameters(command=uv, args=[subst(a) for a in config["args"]], env=env)

    async def main() -> Any:
        with anyio.fail_after(120):
            async with Client(params) as client:
                return await client.call_tool("health_check", {})

    result = anyio.run(main)
    assert not result.is_error and result.structured_content["warehouse_reachable"]
