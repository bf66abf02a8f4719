"""The Dagster code location: every source's definitions merged, plus the jobs.

`dagster dev -m orchestration.definitions` (or `psz ui`) serves it.

With DuckDB, both jobs (`materialize_everything`, the analytics daily job) end with
`serving/warehouse_snapshot`, which publishes the finished warehouse for readers; the pipeline's
own reads go to the build file (`read_from="build"`). See `analytics.warehouse`.
"""

from __future__ import annotations

import dagster as dg
from dagster_dlt import DagsterDltResource

from analytics.settings import Settings, get_settings
from orchestration import analytics, dbt, serving, stripe, supabase, usage
from orchestration.demo_company import definitions as demo_company

MATERIALIZE_EVERYTHING = "materialize_everything"


def _asset_keys(defs: dg.Definitions) -> list[dg.AssetKey]:
    keys: list[dg.AssetKey] = []
    for a in defs.assets or []:
        if isinstance(a, dg.AssetsDefinition):
            keys += a.keys
        elif isinstance(a, dg.AssetSpec):
            keys.append(a.key)
    return keys


def _with_publish(analytics_defs: dg.Definitions) -> dg.Definitions:
    """The analytics definitions with their daily job (and its schedule) also publishing the
    snapshot at the end."""
    old = next(j for j in analytics_defs.jobs or [] if getattr(j, "name", None) == analytics.JOB)
    job = dg.define_asset_job(
        analytics.JOB,
        selection=dg.AssetSelection.groups(analytics.GROUP).upstream() | dg.AssetSelection.assets(serving.SNAPSHOT),
        description=f"{old.description} Then publish the warehouse snapshot readers use.",
    )
    schedules = []
    for s in analytics_defs.schedules or []:
        assert isinstance(s, dg.ScheduleDefinition)
        schedules.append(dg.ScheduleDefinition(
            name=s.name, job=job, cron_schedule=s.cron_schedule, execution_timezone=s.execution_timezone,
            description=s.description,
        ))  # fmt: skip
    return dg.Definitions(
        assets=analytics_defs.assets, jobs=[job], schedules=schedules, sensors=analytics_defs.sensors,
        resources=analytics_defs.resources,
    )  # fmt: skip


def build_definitions(settings: Settings) -> dg.Definitions:
    # assets read what the run just built, never a published snapshot
    settings = settings.model_copy(update={"read_from": "build"})
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
    ]
    analytics_defs = analytics.definitions(settings)
    if settings.warehouse_kind == "duckdb":
        # publish last: the snapshot depends on every other asset, and the daily job includes it
        upstream_keys = [k for part in [*parts, analytics_defs] for k in _asset_keys(part)]
        parts += [_with_publish(analytics_defs), serving.definitions(settings, upstream_keys)]
    else:
        parts.append(analytics_defs)
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
