"""The demo company is believable: over its last 12 closed months every benchmark figure (read
from the dbt marts by benchmarks/demo_benchmarks.py) lies inside its public-survey range.

The session warehouse is scale 0.3, seed 42; the same ranges hold at scale 1 (README "Demo company
benchmarks" has both sets of figures)."""

from __future__ import annotations

import duckdb
import pytest

from benchmarks.demo_benchmarks import Figure, figures


@pytest.fixture(scope="module")
def benchmark_figures(dbt_settings: object) -> dict[str, Figure]:
    con = duckdb.connect(str(dbt_settings.warehouse_path), read_only=True)  # type: ignore[attr-defined]
    try:
        return {f.name: f for f in figures(con)}
    finally:
        con.close()


EXPECTED = (
    "CAC payback", "LTV:CAC", "sales and marketing / revenue", "ARR growth (12 months)",
    "NRR (trailing 12 months)", "gross margin", "monthly logo churn", "monthly logo churn, enterprise",
    "monthly logo churn, mid_market", "monthly logo churn, smb", "enterprise churn minus lowest other segment",
    "trial conversion", "sales win rate", "payment recovery", "customers with seats full (>= 90% active)",
    "customers at or below their paid seats", "largest month-on-month rise of cloud cost per day",
)  # fmt: skip


def test_every_figure_is_measured(benchmark_figures: dict[str, Figure]) -> None:
    assert set(benchmark_figures) == set(EXPECTED)
    assert all(f.value is not None for f in benchmark_figures.values()), benchmark_figures


@pytest.mark.parametrize("name", EXPECTED)
def test_figure_inside_its_range(benchmark_figures: dict[str, Figure], name: str) -> None:
    f = benchmark_figures[name]
    assert f.passed, f"{name} = {f.show(f.value)}, outside {f.show(f.low)} .. {f.show(f.high)} ({f.source})"


def test_growth_is_consistent_with_retention(benchmark_figures: dict[str, Figure]) -> None:
    """ARR growth = NRR - 1 + new customers' ARR / ARR a year ago: growth above NRR - 1 means new
    business added ARR, never the opposite."""
    growth = benchmark_figures["ARR growth (12 months)"].value
    nrr = benchmark_figures["NRR (trailing 12 months)"].value
    assert growth is not None and nrr is not None
    assert growth > nrr - 1
