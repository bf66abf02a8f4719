"""dlt pipelines and destinations: DuckDB file in dev, BigQuery in prod (chosen by settings)."""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common.destination import Destination

from analytics.settings import Settings

# one raw dataset (schema) per source
RAW_DATASETS = {
    "stripe": "raw_stripe",
    "supabase": "raw_supabase",
    "usage": "raw_usage",
    "demo_truth": "demo_truth",
}


def make_destination(settings: Settings) -> Destination[Any, Any]:
    if settings.warehouse_kind == "duckdb":
        settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(str(settings.warehouse_path))
    credentials: dict[str, Any] | None = None
    if settings.bigquery_credentials_path is not None:
        credentials = _service_account(settings)
    return dlt.destinations.bigquery(
        credentials=credentials, location=settings.bigquery_location,
        project_id=settings.bigquery_project,
    )  # fmt: skip


def _service_account(settings: Settings) -> dict[str, Any]:
    import json

    assert settings.bigquery_credentials_path is not None
    return json.loads(settings.bigquery_credentials_path.read_text())


def make_pipeline(source: str, settings: Settings) -> dlt.Pipeline:
    """The dlt pipeline that loads `source` into its raw dataset."""
    settings.dlt_pipelines_dir.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=f"psz_{source}",
        destination=make_destination(settings),
        dataset_name=RAW_DATASETS[source],
        pipelines_dir=str(settings.dlt_pipelines_dir),
    )
