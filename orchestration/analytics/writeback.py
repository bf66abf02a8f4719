"""Write an analytics result back to the warehouse: dataset `analytics`, one table per result,
replaced on every run. One dlt pipeline per table, so DuckDB (dev) and BigQuery (prod) both work
through `make_destination`, and prod's multiprocess executor can write tables concurrently
without two runs sharing one pipeline working directory."""

from __future__ import annotations

import dlt
import polars as pl

from analytics.settings import Settings
from orchestration.ingestion.pipelines import make_destination

DATASET = "analytics"
PIPELINE_PREFIX = "psz_analytics"


def _loadable(frame: pl.DataFrame) -> pl.DataFrame:
    """Columns every destination takes: all-null columns become text, objects become text."""
    fixes = [
        pl.col(name).cast(pl.Utf8)
        for name, dtype in frame.schema.items()
        if dtype == pl.Null or dtype == pl.Object
    ]
    return frame.with_columns(fixes) if fixes else frame


def write_table(settings: Settings, table: str, frame: pl.DataFrame) -> int:
    """Replace `analytics.<table>` with `frame`; returns the number of rows written."""
    pipeline = dlt.pipeline(
        pipeline_name=f"{PIPELINE_PREFIX}__{table}",
        destination=make_destination(settings),
        dataset_name=DATASET,
        pipelines_dir=str(settings.dlt_pipelines_dir),
    )
    file_format = "parquet" if settings.warehouse_kind == "duckdb" else None
    pipeline.run(
        _loadable(frame).to_arrow(),
        table_name=table,
        write_disposition="replace",
        loader_file_format=file_format,
    )
    return frame.height
