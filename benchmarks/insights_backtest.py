"""Backtest of every insight rule (analytics.insights.backtest), as of the data's last day: per rule
the month-ends evaluated, how often it fired, how often its claim came true (precision), the
base rate and the coverage, and the seconds each replay took. Then two baselines on the same
month-ends: the health-score at-risk rule (the one the churn-model rule replaced) and the upsell
rule with the old seat signal (`seats_full`, one month at >= 90% utilisation).

    uv run python benchmarks/insights_backtest.py WAREHOUSE_PATH_OR_DATA_DIR

The warehouse must hold the dbt marts and the analytics tables (a `psz demo` build)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from analytics.insights import generate
from analytics.insights.backtest import PERIODS, backtest_rules, months_until, upsell_backtest
from analytics.insights.model import Backtest
from analytics.insights.rules import default_as_of
from analytics.settings import load_settings


def _p(x: float | None) -> str:
    return "     -" if x is None else f"{100 * x:5.1f}%"


def _row(name: str, b: Backtest) -> str:
    flags = f"{b.flagged:6d}" if b.flagged is not None else "     -"
    return (f"{name:34} {b.evaluated_periods:7d} {b.fires:5d} {flags} {_p(b.precision)} {_p(b.base_rate)} "
            f"{_p(b.coverage)} {_p(b.coverage_mrr)} {b.horizon_days:4d} {b.seconds:6.2f}")  # fmt: skip


HEADER = (f"{'rule':34} {'periods':>7} {'fires':>5} {'flags':>6} {'precis':>6} {'base':>6} "
          f"{'cover':>6} {'cov$':>6} {'days':>4} {'sec':>6}")  # fmt: skip


def main() -> None:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    path = Path(sys.argv[1])
    db = path if path.suffix == ".duckdb" else path / "warehouse.duckdb"
    settings = load_settings(duckdb_path=db, data_dir=db.parent)
    as_of = default_as_of(settings)
    print(f"warehouse {db}, as of {as_of}, up to {PERIODS} month-ends per rule")
    t0 = time.perf_counter()
    figures = backtest_rules(settings, as_of)
    total = time.perf_counter() - t0
    print(HEADER)
    for name, b in figures.items():
        print(_row(name, b))
    print(f"all rules: {total:.2f} s")
    for name, b in figures.items():
        extra = {k: v for k, v in b.extra.items() if v is not None}
        if extra:
            print(f"  {name}: {extra}")

    print("\nbaselines on the same month-ends")
    print(HEADER)
    health = backtest_rules(
        settings, as_of, only={"customers_at_risk"}, churn_source="health_score"
    )
    if "customers_at_risk" in health:
        print(_row("customers_at_risk (health score)", health["customers_at_risk"]))
    old = upsell_backtest(
        settings, as_of, months_until(settings, as_of, {}), {}, seat_signal="seats_full"
    )
    if old is not None:
        print(_row("upsell_opportunities (seats_full)", old))

    t1 = time.perf_counter()
    plain = generate(settings, as_of, backtest=False)
    t2 = time.perf_counter()
    full = generate(settings, as_of)
    t3 = time.perf_counter()
    print(f"\ngenerate(): {t2 - t1:.2f} s without backtests, {t3 - t2:.2f} s with "
          f"({len(plain)} insights, backtests for {sum(x.backtest is not None for x in full)})")  # fmt: skip
    for x in full:
        print(f"- [{x.priority}] {x.title}\n  {x.description}")


if __name__ == "__main__":
    main()
