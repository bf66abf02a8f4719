"""Dagster assets of the demo company (dev only): the generated source files, and the planted
ground truth loaded into the `demo_truth` dataset for tests, benchmarks and model evaluation."""


from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
import dlt
import pyarrow.parquet as pq

from analytics.settings import Settings
from orchestration.ingestion.assets import ingestion_assets

from .generate import generate

SOURCE_FILES = dg.AssetKey(["demo_company", "source_files"])
TRUTH_TABLES = ("churned_customers", "anomalies", "parameters", "customer_profiles")
DESCRIPTIONS = {
    "churned_customers": "Planted churn: who churned, when, how, and whether usage and support warned first. "
    "One row per churned subscription.",
    "anomalies": "Planted incidents (outage, revenue dip, usage surge) with their windows. One row per anomaly.",
    "parameters": "Generator parameters (seed, scale, window, growth, seasonality). One row per parameter.",
    "customer_profiles": "Hidden traits of each customer (segment, trial, coupon, card reliability). One row per customer.",
}


def _parquet(path: Path) -> Iterator[Any]:
    yield pq.read_table(path)


@dlt.source(name="demo_truth")
def truth_source(folder: Path) -> Any:
    return [
        dlt.resource(_parquet(folder / f"{t}.parquet"), name=t, write_disposition="replace") for t in TRUTH_TABLES
    ]


def definitions(settings: Settings) -> dg.Definitions:
    out = settings.demo_sources_dir

    @dg.asset(
        key=SOURCE_FILES,
        group_name="demo_company",
        description="The demo company written as source files (Stripe JSON Lines, app tables and usage as "
        "Parquet, planted truth). Deterministic for PSZ_DEMO_SEED / PSZ_DEMO_SCALE / PSZ_DEMO_MONTHS.",
        kinds={"python", "parquet"},
    )
    def demo_source_files(context: AssetExecutionContext) -> dg.MaterializeResult:
        context.log.info(f"generating the demo company (seed={settings.demo_seed}, scale={settings.demo_scale}) into {out}")
        company = generate(out, seed=settings.demo_seed, scale=settings.demo_scale,
                           months=settings.demo_months, end=settings.demo_end_date)  # fmt: skip
        counts = company.row_counts()
        context.log.info(", ".join(f"{k}={v}" for k, v in counts.items()))
        return dg.MaterializeResult(metadata={
            "path": dg.MetadataValue.path(str(out.resolve())), "seed": settings.demo_seed,
            "scale": settings.demo_scale, "window": f"{company.start} .. {company.end}",
            "rows": dg.MetadataValue.json(counts),
            "dagster/row_count": sum(counts.values()),
        })  # fmt: skip

    truth = ingestion_assets("demo_truth", truth_source(out / "truth"), settings, "demo_company", DESCRIPTIONS, [SOURCE_FILES])
    return dg.Definitions(assets=[demo_source_files, truth])
