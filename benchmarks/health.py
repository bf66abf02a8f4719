"""Customer health score against the demo's planted churners: every target of issue 9 item 3.

    uv run python benchmarks/health.py path/to/warehouse.duckdb

Definitions in analytics/health/evaluation.py (and DECISIONLOG "Customer health"). The warehouse
is opened read-only; copy a live one first (a reader blocks `dbt build`)."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from analytics.health.evaluation import evaluate_warehouse

TARGETS = {
    "auc_30d": 0.9,
    "auc_60d": 0.75,
    "median_lead_days": 30,
    "alarm_precision_30d": 0.5,
    "current_spread": 25,
}


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "data/warehouse.duckdb")
    con = duckdb.connect(str(path), read_only=True)
    try:
        result = evaluate_warehouse(con).as_dict()
        params = dict(con.execute("select name, value from demo_truth.parameters").fetchall())
    finally:
        con.close()
    print(f"warehouse {path} (seed {params.get('seed')}, scale {params.get('scale')})")
    for name, value in result.items():
        target = TARGETS.get(name)
        shown = (
            {k: round(v, 3) for k, v in value.items()}
            if isinstance(value, dict)
            else (f"{value:.3f}" if isinstance(value, float) else value)
        )
        verdict = (
            ""
            if target is None
            else f"  (target >= {target}: {'met' if value >= target else 'MISSED'})"
        )
        print(f"  {name:28s} {shown}{verdict}")


if __name__ == "__main__":
    main()
