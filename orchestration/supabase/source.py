"""The Supabase application database as a dlt source: one merge-on-`id` resource per table,
incremental on `updated_at`.

Live: dlt's `sql_table` over PostgreSQL with the pyarrow backend (Arrow batches, no per-row
Python). Demo: the generator's Parquet files. Both pass through the same hints, the same
incremental cursor and the same quarantine (rows whose primary key is null).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pyarrow.parquet as pq

from orchestration.ingestion.quarantine import validate_arrow

TABLES = (
    "organizations", "users", "feature_events", "support_tickets", "nps_responses",
    "onboarding_milestones", "campaigns", "leads", "opportunities", "budgets",
)  # fmt: skip
PRIMARY_KEY = "id"
CURSOR = "updated_at"
BATCH_ROWS = 100_000


def _finish(resource: Any, table: str) -> Any:
    """The hints every Supabase table gets, whatever reads it."""
    resource.apply_hints(
        primary_key=PRIMARY_KEY,
        write_disposition="merge",
        incremental=dlt.sources.incremental(CURSOR, on_cursor_value_missing="include"),
    )
    return resource.add_yield_map(lambda batch: validate_arrow(table, [PRIMARY_KEY], batch))


def _parquet_rows(path: Path) -> Iterator[Any]:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run `psz demo generate` first")
    yield from pq.ParquetFile(path).iter_batches(batch_size=BATCH_ROWS)


@dlt.source(name="supabase")
def supabase_files(folder: Path, tables: tuple[str, ...] = TABLES) -> Any:
    """Demo: application tables from `<folder>/<table>.parquet`."""
    return [
        _finish(dlt.resource(_parquet_rows(folder / f"{t}.parquet"), name=t), t) for t in tables
    ]


def psycopg2_url(dsn: str) -> str:
    """The DSN with the psycopg2 driver named, the PostgreSQL driver this project installs.

    Settings accept `postgresql://` and `postgres://` (the forms Supabase hands out), but
    SQLAlchemy 2.1 maps `postgresql://` to psycopg 3 (not installed) and rejects `postgres://`.
    """
    scheme, sep, rest = dsn.partition("://")
    return f"postgresql+psycopg2://{rest}" if sep and scheme in ("postgresql", "postgres") else dsn


@dlt.source(name="supabase")
def supabase_postgres(dsn: str, schema: str = "public", tables: tuple[str, ...] = TABLES) -> Any:
    """Live: application tables read from PostgreSQL."""
    from dlt.sources.sql_database import sql_table

    url = psycopg2_url(dsn)
    return [
        _finish(
            sql_table(credentials=url, table=t, schema=schema, backend="pyarrow", chunk_size=BATCH_ROWS,
                      reflection_level="full_with_precision",
                      # reflect when extracting, not when Dagster loads its definitions: an
                      # unreachable database must fail a run, not the whole code location
                      defer_table_reflect=True),
            t,
        )
        for t in tables
    ]  # fmt: skip
