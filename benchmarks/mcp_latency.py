"""MCP latency over stdio: p50/p95 of a metric query, a dashboard and the SQL tool, against
running the same SQL directly on DuckDB in the same process (the overhead factor).

    uv run python benchmarks/mcp_latency.py DATA_DIR [DATA_DIR ...] [--calls 200]

Each DATA_DIR is a `psz demo` data directory (e.g. PSZ_DATA_DIR=/tmp/s10 PSZ_DEMO_SCALE=10 psz demo).
The server is `psz mcp` started as a subprocess and driven by the official SDK client, so the
figures include JSON-RPC over stdio, validation and serialisation: what an assistant sees.

"cold" calls each ask a different question (a different start date or period), so neither the
compiled-SQL cache nor the per-snapshot result cache can answer them; "warm" calls repeat one
question (the result cache answers; snapshots never change, so that is exact). The SQL tool is
never cached. The direct figures run each call's own SQL (from its provenance) on a read-only
connection held open in this process: the warehouse's floor, without MCP, JSON or Python layers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import duckdb
from mcp import Client, StdioServerParameters

REPO = Path(__file__).parents[1]
METRIC_CALL = ("query_metrics", {"metrics": ["mrr"], "grain": "month", "start": "2025-06-01"})
SEGMENT_CALL = ("query_metrics", {"metrics": ["mrr"], "grain": "month", "dimensions": ["segment"], "start": "2025-06-01"})
DASHBOARD_CALL = ("generate_dashboard", {"type": "executive"})
SQL_CALL = ("run_sql", {"sql": "select segment, count(*) as customers, sum(mrr) as mrr from marts.fct_mrr_daily "
                               "where date_day = (select max(date_day) from marts.fct_mrr_daily) group by 1 order by 1"})  # fmt: skip


def published(data_dir: Path) -> Path:
    """The snapshot the server reads (the build file when nothing was published)."""
    pointer = data_dir / "snapshots" / "CURRENT"
    if pointer.exists():
        return data_dir / "snapshots" / json.loads(pointer.read_text())["id"] / "warehouse.duckdb"
    return data_dir / "warehouse.duckdb"


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


async def timed(n: int, call: Callable[[int], Awaitable[Any]]) -> tuple[list[float], list[str]]:
    """Latencies of `n` calls and the SQL each one ran (from its provenance)."""
    await call(-1)  # warm-up: imports, first connection, semantic manifest
    out, sqls = [], []
    for i in range(n):
        t0 = time.perf_counter()
        result = await call(i)
        out.append((time.perf_counter() - t0) * 1000)
        if result.is_error:
            raise SystemExit(f"call {i} failed: {result.content}")
        sqls += (result.structured_content.get("provenance") or {}).get("sql", [])[:1]
    return out, sqls


def varied(tool: str, args: dict[str, Any], i: int) -> dict[str, Any]:
    """`args` changed so that call `i` asks a question no earlier call asked. Ranges widen to whole
    periods of the grain, so the dates move by whole months (earlier than the data is fine: the
    SQL differs, the scan does not)."""
    if tool == "generate_dashboard":
        end = _months_before(dt.date(2026, 10, 31), i)
        return {**args, "start": _months_before(end, 6).isoformat(), "end": end.isoformat()}
    return {**args, "start": _months_before(dt.date(2025, 6, 1), i).isoformat()}


def _months_before(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1)


def direct_ms(path: Path, sqls: list[str]) -> list[float]:
    """The same statements on a read-only DuckDB connection held open, as a reference floor."""
    con = duckdb.connect(str(path), read_only=True)
    con.sql(sqls[0]).to_arrow_table()
    out = []
    for sql in sqls:
        t0 = time.perf_counter()
        con.sql(sql).to_arrow_table()
        out.append((time.perf_counter() - t0) * 1000)
    con.close()
    return out


async def bench(data_dir: Path, calls: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSZ_")}
    env["PSZ_DATA_DIR"] = str(data_dir)
    params = StdioServerParameters(command=str(Path(sys.executable).parent / "psz"), args=["mcp"], env=env,
                                   cwd=str(REPO))  # fmt: skip
    results: dict[str, list[float]] = {}
    sqls: dict[str, list[str]] = {}
    few = max(20, calls // 10)
    plan = [("metric query, cold", METRIC_CALL, calls, True), ("metric query, warm", METRIC_CALL, calls, False),
            ("by segment, cold", SEGMENT_CALL, few, True), ("dashboard, cold", DASHBOARD_CALL, few, True),
            ("dashboard, warm", DASHBOARD_CALL, few, False), ("sql tool", SQL_CALL, calls, False)]  # fmt: skip
    async with Client(params) as client:
        for label, (tool, args), n, cold in plan:
            async def call(i: int, tool: str = tool, args: dict[str, Any] = args, cold: bool = cold) -> Any:
                return await client.call_tool(tool, varied(tool, args, i) if cold and i >= 0 else args)

            results[label], sqls[label] = await timed(n, call)
    db = published(data_dir)
    size_mb = db.stat().st_size / 1e6
    print(f"\n{data_dir} (warehouse {size_mb:,.0f} MB)")
    print(f"{'call':<20}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'direct p50':>12}{'direct p95':>12}{'overhead p95':>14}")
    for label, samples in results.items():
        p50, p95 = percentiles(samples)
        line = f"{label:<20}{len(samples):>5}{p50:>9.1f}{p95:>9.1f}"
        if sqls.get(label) and not label.startswith("dashboard"):
            d50, d95 = percentiles(direct_ms(db, sqls[label]))
            line += f"{d50:>12.1f}{d95:>12.1f}{p95 / d95:>13.2f}x"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dirs", nargs="+", type=Path)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    for data_dir in args.data_dirs:
        anyio.run(bench, data_dir, args.calls)


if __name__ == "__main__":
    main()
