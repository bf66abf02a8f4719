"""Benchmark: `dbt build` wall time at several scales, the slowest models, and a daily
incremental run (printed, not asserted).

    uv run python benchmarks/dbt_build.py                 # scales 1 and 10
    uv run python benchmarks/dbt_build.py --scales 1

For each scale: ingest the demo company, run a full `dbt build --full-refresh`, then `dbt build`
again: the incremental models reprocess only their lookback windows (7-40 days), the rest
rebuilds. (Not a true next-day run: the demo generator is not prefix-stable, so a company ending
one day later differs all through its history, and reconciliation tests then rightly fail on
the history an incremental run does not revisit.)
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg

from analytics.settings import Settings, load_settings
from orchestration.definitions import MATERIALIZE_EVERYTHING, build_definitions

PROJECT = Path(__file__).resolve().parents[1] / "dbt_project"
INGESTION = ("demo_company", "demo_truth", "raw_stripe", "raw_supabase", "raw_usage")
END = dt.date(2026, 10, 31)


def ingest(settings: Settings) -> float:
    defs = build_definitions(settings)
    keys = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] in INGESTION]
    t = time.perf_counter()
    result = defs.resolve_job_def(MATERIALIZE_EVERYTHING).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), asset_selection=keys
    )
    assert result.success
    return time.perf_counter() - t


def dbt_build(settings: Settings, target: Path, *extra: str) -> tuple[float, list[tuple[str, float]]]:
    env = {**os.environ, "PSZ_DUCKDB_PATH": str(settings.warehouse_path.resolve())}
    cmd = [str(Path(sys.executable).parent / "dbt"), "build", "--project-dir", str(PROJECT),
           "--profiles-dir", str(PROJECT), "--target-path", str(target), "--quiet", *extra]  # fmt: skip
    t = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=PROJECT)
    secs = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:])
    results = json.loads((target / "run_results.json").read_text())["results"]
    models = sorted(
        ((r["unique_id"].split(".")[-1], r["execution_time"]) for r in results if r["unique_id"].startswith("model.")),
        key=lambda x: -x[1],
    )
    return secs, models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 10.0])
    args = parser.parse_args()
    for scale in args.scales:
        work = Path(tempfile.mkdtemp(prefix=f"psz-dbt-bench-{scale}-"))
        settings = load_settings(data_dir=work, demo_scale=scale, demo_end_date=END)
        ingest_s = ingest(settings)
        full_s, models = dbt_build(settings, work / "target-full", "--full-refresh")
        incr_s, _ = dbt_build(settings, work / "target-incremental")
        print(f"\nscale {scale}: ingest {ingest_s:.1f}s | dbt build full {full_s:.1f}s | "
              f"incremental rebuild {incr_s:.1f}s ({incr_s / full_s:.0%} of full)")  # fmt: skip
        print("  slowest models (full build): " + ", ".join(f"{n} {s:.2f}s" for n, s in models[:8]))


if __name__ == "__main__":
    main()
