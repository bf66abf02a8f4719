"""Benchmark: demo generation and ingestion at several scales (printed, not asserted).

    uv run python benchmarks/ingestion.py            # scales 1 and 10
    uv run python benchmarks/ingestion.py --scales 0.1 1

Each scale runs in a fresh subprocess so peak memory (max RSS) is that scale's own. Ingestion
uses the product's dlt sources and pipelines, loading into a throw-away DuckDB file.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_one(scale: float) -> dict[str, object]:
    from analytics.settings import load_settings
    from orchestration.demo_company import generate
    from orchestration.ingestion.assets import loader_file_format
    from orchestration.ingestion.pipelines import make_pipeline
    from orchestration.stripe.source import StripeFiles, stripe_source
    from orchestration.supabase.source import supabase_files
    from orchestration.usage.source import usage_source

    work = Path(tempfile.mkdtemp(prefix=f"psz-bench-{scale}-"))
    settings = load_settings(data_dir=work, demo_scale=scale)
    out = settings.demo_sources_dir
    t = time.perf_counter()
    company = generate(out, seed=42, scale=scale)
    gen_s = time.perf_counter() - t
    result: dict[str, object] = {"scale": scale, "customers": len(company.stripe.customers), "generate_s": round(gen_s, 2)}
    del company
    sources = {
        "stripe": lambda: stripe_source(StripeFiles(out / "stripe")),
        "supabase": lambda: supabase_files(out / "supabase"),
        "usage": lambda: usage_source(str(out / "usage")),
    }
    fmt = loader_file_format(settings)
    total_ingest = 0.0
    for name, make in sources.items():
        pipeline = make_pipeline(name, settings)
        t = time.perf_counter()
        pipeline.run(make(), loader_file_format=fmt)
        secs = time.perf_counter() - t
        total_ingest += secs
        counts = pipeline.last_trace.last_normalize_info.row_counts
        rows = sum(n for table, n in counts.items() if not table.startswith("_dlt"))
        result[f"{name}_rows"] = rows
        result[f"{name}_s"] = round(secs, 2)
        result[f"{name}_rows_per_s"] = round(rows / secs)
        if name == "usage":
            api = counts.get("api_requests", 0)
            result["usage_api_requests_rows"] = api
    result["ingest_s"] = round(total_ingest, 2)
    result["generate_plus_ingest_s"] = round(gen_s + total_ingest, 2)
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", nargs="+", type=float, default=[1.0, 10.0])
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)  # child mode
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one)))
        return
    rows = []
    for scale in args.scales:
        proc = subprocess.run([sys.executable, __file__, "--one", str(scale)], capture_output=True, text=True)
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            raise SystemExit(f"scale {scale} failed")
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    keys = list(rows[0])
    width = max(len(k) for k in keys)
    print(f"{'metric':<{width}}  " + "  ".join(f"{'scale ' + str(r['scale']):>14}" for r in rows))
    for k in keys[1:]:
        print(f"{k:<{width}}  " + "  ".join(f"{r[k]:>14,}" if isinstance(r[k], int) else f"{r[k]:>14}" for r in rows))


if __name__ == "__main__":
    main()
