"""MCP latency over stdio: p50/p95 of a metric query, a dashboard and the SQL tool, against
running the same SQL directly on DuckDB in the same process (the overhead factor).

    uv run python benchmarks/mcp_latency.py DATA_DIR [DATA_DIR ...] [--calls 200]

Each DATA_DIR is a `psz demo` data directory (e.g. PSZ_DATA_DIR=/tmp/s10 PSZ_DEMO_SCALE=10 psz demo).
The server is `psz mcp` started as a subprocess and driven by the official SDK client, so the
figures include JSON-RPC over stdio, validation and serialisation: what an assistant sees.
"""

from __future__ import annotations

import argparse
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
METRIC_CALL = ("query_metrics", {"metrics": ["mrr"], "grain": "month", "dimensions": ["segment"], "start": "2026-01-01"})
DASHBOARD_CALL = ("generate_dashboard", {"type": "executive"})
SQL_CALL = ("run_sql", {"sql": "select segment, count(*) as customers, sum(mrr) as mrr from marts.fct_mrr_daily "
                               "where date_day = (select max(date_day) from marts.fct_mrr_daily) group by 1 order by 1"})  # fmt: skip


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


async def timed(n: int, call: Callable[[], Awaitable[Any]]) -> list[float]:
    await call()  # warm-up: imports, first connection, semantic manifest
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def direct_ms(path: Path, sql: str, n: int) -> list[float]:
    """The same SQL on a read-only DuckDB connection held open, as a reference floor."""
    con = duckdb.connect(str(path), read_only=True)
    con.execute(sql).fetchall()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        con.execute(sql).fetch_arrow_table()
        out.append((time.perf_counter() - t0) * 1000)
    con.close()
    return out


async def bench(data_dir: Path, calls: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSZ_")}
    env["PSZ_DATA_DIR"] = str(data_dir)
    params = StdioServerParameters(command=str(Path(sys.executable).parent / "psz"), args=["mcp"], env=env,
                                   cwd=str(REPO))  # fmt: skip
    results: dict[str, list[float]] = {}
    sqls: dict[str, str] = {}
    async with Client(params) as client:
        for label, (tool, args), n in (("metric query", METRIC_CALL, calls), ("dashboard", DASHBOARD_CALL, max(20, calls // 10)),
                                       ("sql tool", SQL_CALL, calls)):  # fmt: skip
            first = await client.call_tool(tool, args)
            if first.is_error:
                raise SystemExit(f"{tool} failed: {first.content}")
            sql = first.structured_content.get("provenance", {}).get("sql", [None])[0]
            if sql:
                sqls[label] = sql
            results[label] = await timed(n, lambda tool=tool, args=args: client.call_tool(tool, args))
    size_mb = (data_dir / "warehouse.duckdb").stat().st_size / 1e6
    print(f"\n{data_dir} (warehouse {size_mb:,.0f} MB)")
    print(f"{'call':<14}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'direct p50':>12}{'direct p95':>12}{'overhead p95':>14}")
    for label, samples in results.items():
        p50, p95 = percentiles(samples)
        line = f"{label:<14}{len(samples):>5}{p50:>9.1f}{p95:>9.1f}"
        if label in sqls and label != "dashboard":
            d50, d95 = percentiles(direct_ms(data_dir / "warehouse.duckdb", sqls[label], len(samples)))
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
