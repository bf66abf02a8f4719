"""The Dagster code location: every source's definitions merged, plus the jobs.

`dagster dev -m orchestration.definitions` (or `psz ui`) serves it.
"""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltResource

from analytics.settings import Settings, get_settings
from orchestration import analytics, dbt, stripe, supabase, usage
from orchestration.demo_company import definitions as demo_company

MATERIALIZE_EVERYTHING = "materialize_everything"


def build_definitions(settings: Settings) -> dg.Definitions:
    parts = []
    upstream: list[dg.AssetKey] = []
    if settings.source_kind == "demo":
        parts.append(demo_company.definitions(settings))
        upstream = [demo_company.SOURCE_FILES]
    parts += [
        stripe.definitions(settings, upstream),
        supabase.definitions(settings, upstream),
        usage.definitions(settings, upstream),
        dbt.definitions(settings),
        analytics.definitions(settings),
    ]
    everything = dg.define_asset_job(
        MATERIALIZE_EVERYTHING,
        selection=dg.AssetSelection.all(),
        description="Generate (dev) or fetch (prod) every source and rebuild everything downstream.",
    )
    # DuckDB allows one writer per file: run assets one after another in one process. BigQuery
    # takes concurrent loads, so prod keeps Dagster's default multiprocess executor.
    executor = dg.in_process_executor if settings.warehouse_kind == "duckdb" else dg.multiprocess_executor
    return dg.Definitions.merge(
        *parts,
        dg.Definitions(jobs=[everything], resources={"dlt": DagsterDltResource()}, executor=executor),
    )


defs = build_definitions(get_settings())
