"""Reads during writes: `psz mcp` keeps answering, from a finished warehouse only, while Dagster
rebuilds it.

Snapshot A is the session warehouse's published snapshot, copied into a fresh data directory
(building one costs as much as the rebuild). Then a full materialization, from scratch, of a
different, smaller demo company runs in this process while an MCP client, over stdio, asks the
server for MRR by month without pause. Every call must succeed, and every answer must be the
complete answer of snapshot A or of the snapshot B that the run publishes at its end (checked
against the marts of each snapshot file with independent SQL): never a mix, never a half-built
table, and never back to A once B was seen. The run itself succeeding proves the server never
held the build file (`dbt build` would fail to get its lock).
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import dagster as dg
import duckdb
import pytest
from mcp import Client, StdioServerParameters

from analytics.settings import Settings, load_settings
from analytics.warehouse import POINTER_FILE, SNAPSHOT_DB, read_pointer
from orchestration.definitions import MATERIALIZE_EVERYTHING, build_definitions

SCALE = 0.05
SEED_B = 11  # snapshot A is the session warehouse (scale 0.3, seed 42)
QUERY = {"metrics": ["mrr"], "grain": "month", "order": ["period"]}
EXAMPLE_CALLS: dict[str, dict] = {"query_metrics": QUERY}

pytestmark = pytest.mark.slow


def _materialize(settings: Settings) -> None:
    job = build_definitions(settings).resolve_job_def(MATERIALIZE_EVERYTHING)
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    failures = [e.message for e in result.all_events if e.is_failure]
    assert result.success, f"materialization failed: {failures}"


def _mart_mrr(snapshot: Path) -> dict[str, float]:
    """Month -> ending MRR, straight from a snapshot file's MRR bridge mart."""
    with duckdb.connect(str(snapshot), read_only=True) as con:
        return {str(m)[:10]: round(float(v), 6) for m, v in con.execute(
            "select month_start, ending_mrr from marts.fct_mrr_summary_monthly"
        ).fetchall()}  # fmt: skip


def _answer(result: Any) -> dict[str, float]:
    return {r["period"][:10]: round(float(r["mrr"]), 6) for r in result.structured_content["rows"]}


def _same(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) <= 1e-6 * max(1.0, abs(b[k])) for k in a)


def test_queries_during_a_full_materialization_all_succeed_on_a_finished_snapshot(
    tmp_path: Path, dbt_settings: Settings
) -> None:
    data_dir = tmp_path / "data"
    settings_b = load_settings(data_dir=data_dir, demo_scale=SCALE, demo_seed=SEED_B)
    snapshots = settings_b.snapshots_dir
    id_a = read_pointer(dbt_settings.snapshots_dir)
    assert id_a is not None, "the session build published no snapshot"
    shutil.copytree(dbt_settings.snapshots_dir / id_a, snapshots / id_a)
    shutil.copy(dbt_settings.snapshots_dir / POINTER_FILE, snapshots / POINTER_FILE)
    assert not settings_b.warehouse_path.exists()  # nothing built here yet: readers see only A
    want_a = _mart_mrr(snapshots / id_a / SNAPSHOT_DB)
    assert len(want_a) > 6

    psz = Path(sys.executable).parent / "psz"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSZ_")}
    env["PSZ_DATA_DIR"] = str(data_dir)
    params = StdioServerParameters(command=str(psz), args=["mcp", "--domains", "business_intelligence"],
                                   env=env, cwd=str(Path(__file__).parents[2]))  # fmt: skip
    ready, build_done = threading.Event(), threading.Event()
    answers: list[tuple[float, dict[str, float] | str]] = []  # (seconds since start, rows | error)
    after: list[dict[str, float] | str] = []
    crashed: list[BaseException] = []

    calls = iter(range(10**9))

    async def call(client: Client) -> dict[str, float] | str:
        # a different limit (above the row count) each time: new SQL, so every call reads the
        # warehouse instead of the per-snapshot result cache
        try:
            result = await client.call_tool("query_metrics", {**QUERY, "limit": 1000 + next(calls)})
        except Exception as exc:  # noqa: BLE001 - a transport failure counts as a failed query
            return f"{type(exc).__name__}: {exc}"
        if result.is_error:
            return str(result.content[0].text if result.content else result)
        return _answer(result)

    async def client_loop() -> None:
        async with Client(params) as client:
            answers.append((0.0, await call(client)))  # warm: the server is up and answering
            ready.set()
            t0 = time.perf_counter()
            while not build_done.is_set():
                answers.append((time.perf_counter() - t0, await call(client)))
            for _ in range(5):
                after.append(await call(client))

    def run_client() -> None:
        try:
            anyio.run(client_loop)
        except BaseException as exc:  # noqa: BLE001 - reported by the main thread
            crashed.append(exc)
            ready.set()

    thread = threading.Thread(target=run_client, daemon=True)
    thread.start()
    assert ready.wait(120), "the MCP server did not answer"
    assert not crashed, crashed
    started = time.perf_counter()
    try:
        # a full build from scratch of a different demo company (every number changes), in the
        # main thread, publishing snapshot B at its end
        _materialize(settings_b)
    finally:
        build_done.set()
        thread.join(120)
    second_build = time.perf_counter() - started
    assert not crashed, crashed

    id_b = read_pointer(snapshots)
    assert id_b is not None and id_b != id_a
    want_b = _mart_mrr(snapshots / id_b / SNAPSHOT_DB)
    assert not _same(want_a, want_b), "the second build should change MRR"

    failed = [a for _, a in answers + [(0.0, a) for a in after] if isinstance(a, str)]
    labels = ["A" if _same(a, want_a) else "B" if _same(a, want_b) else "?"
              for _, a in answers if not isinstance(a, str)]  # fmt: skip
    print(f"\n{len(answers)} queries during a {second_build:.1f}s rebuild: "
          f"{labels.count('A')} from snapshot A, {labels.count('B')} from B, {len(failed)} failed")  # fmt: skip
    assert failed == [], failed[:3]
    assert len(answers) >= 20, "the client should have queried throughout the rebuild"
    assert "?" not in labels, "an answer matched neither finished snapshot: a half-built state"
    assert labels[0] == "A" and labels.count("A") >= 10
    # readers move forward between queries and never back
    assert labels == sorted(labels), "an answer went back to the older snapshot"
    assert all(_same(a, want_b) for a in after), (
        "after the publish the server answers from the new snapshot"
    )  # type: ignore[arg-type]
