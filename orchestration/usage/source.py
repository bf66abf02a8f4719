"""Product usage and operations data as a dlt source, from Parquet files in a local folder or a
`gs://` bucket (fsspec). Files are read as Arrow batches and loaded through dlt's Arrow path
(no per-row Python); files already loaded are skipped by their modification date.

Layout: `<root>/api_requests/*.parquet`, `<root>/infra_metrics/*.parquet`,
`<root>/cloud_costs/*.parquet`.
"""

from __future__ import annotations

from typing import Any

import dlt
from dlt.sources.filesystem import filesystem, read_parquet

from orchestration.ingestion.quarantine import validate_arrow

# table -> primary key (the grain of each file's rows)
TABLES: dict[str, tuple[str, ...]] = {
    "api_requests": ("date", "account_id", "endpoint"),
    "infra_metrics": ("hour", "service"),
    "cloud_costs": ("date", "service", "category"),
}
BATCH_ROWS = 250_000


def _table(root: str, table: str, keys: tuple[str, ...]) -> Any:
    files = filesystem(bucket_url=root, file_glob=f"{table}/*.parquet")
    files.apply_hints(incremental=dlt.sources.incremental("modification_date"))
    reader = (files | read_parquet(use_pyarrow=True, chunksize=BATCH_ROWS)).with_name(table)
    reader.apply_hints(primary_key=list(keys), write_disposition="merge")
    return reader.add_yield_map(lambda batch: validate_arrow(table, keys, batch))


@dlt.source(name="usage")
def usage_source(root: str) -> Any:
    """All usage tables under `root` (a folder path or a gs:// URL)."""
    return [_table(root, t, keys) for t, keys in TABLES.items()]
