"""dbt models as Dagster assets (downstream of the raw tables), dbt tests as asset checks."""

import shutil
import time
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from analytics.settings import Settings

from .project import dbt_executable, dbt_project


KEEP_RUNS = 5


class WarehouseTranslator(DagsterDbtTranslator):
    """Keys follow the warehouse: a model is `[schema, model]`, a source is its dlt raw table
    `[raw_<source>, <table>]` (dlt child tables such as `invoices__lines__data` belong to their
    parent's asset). Groups follow the domain folder: staging, finance, customer_success, ..."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            table = dbt_resource_props["name"].split("__")[0]
            return dg.AssetKey([dbt_resource_props["schema"], table])
        return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if len(fqn) >= 4 and fqn[1] in ("marts", "intermediate"):
            return fqn[2]
        return fqn[1] if len(fqn) >= 3 else "dbt"


def definitions(settings: Settings) -> dg.Definitions:
    project = dbt_project(settings)

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        name="dbt_models",
        dagster_dbt_translator=WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)),
    )
    def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        """`dbt build`: models, seeds and tests (tests report as asset checks)."""
        # artifacts (run_results.json: the "models built at" of answers' freshness) go under this
        # data dir's target path, one folder per run; the last few are kept
        runs = project.target_path / "runs"
        target = runs / f"{context.run.run_id[:8]}-{int(time.time())}"
        yield from dbt.cli(["build"], context=context, target_path=target).stream()
        for old in sorted(runs.iterdir(), key=lambda p: p.stat().st_mtime)[:-KEEP_RUNS]:
            shutil.rmtree(old, ignore_errors=True)

    resource = DbtCliResource(
        project_dir=project, profiles_dir=str(project.profiles_dir), target=settings.warehouse_kind,
        dbt_executable=dbt_executable(),
    )  # fmt: skip
    return dg.Definitions(assets=[dbt_models], resources={"dbt": resource})
