"""Read access to the warehouse: DuckDB (dev) or BigQuery (prod), results as polars.

DuckDB allows one writer or many readers per file, so every read opens the file read-only and
closes it again: a pipeline run that needs the write lock is never blocked for long.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb
import polars as pl

from analytics.settings import Settings

RAW_SOURCES = {"stripe": "raw_stripe", "supabase": "raw_supabase", "usage": "raw_usage"}


class WarehouseUnavailable(RuntimeError):
    """The warehouse has not been built yet (or cannot be reached)."""


def _connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    path = settings.warehouse_path
    if not path.exists():
        raise WarehouseUnavailable(f"{path} does not exist yet: run `psz demo` (or materialize the assets) first")
    return duckdb.connect(str(path), read_only=True)


@contextmanager
def read_only_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection for one caller-supplied (untrusted) query: read-only, no access to
    files or the network (`enable_external_access = false`), configuration locked so SQL cannot
    undo either. The caller may `interrupt()` it from another thread."""
    path = settings.warehouse_path
    if not path.exists():
        raise WarehouseUnavailable(f"{path} does not exist yet: run `psz demo` (or materialize the assets) first")
    con = duckdb.connect(str(path), read_only=True,
                         config={"enable_external_access": False, "lock_configuration": True})  # fmt: skip
    try:
        yield con
    finally:
        con.close()


def _duckdb_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None) -> pl.DataFrame:
    frame = pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    # DuckDB sums integers into DECIMAL(38,0); metrics are plain floats for every consumer
    return frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64))


def run_query(settings: Settings, sql: str, params: list[object] | None = None) -> pl.DataFrame:
    """Execute one read-only query and return its rows."""
    if settings.warehouse_kind == "bigquery":
        return _bigquery(settings, sql, params)
    with _connect(settings) as con:
        return _duckdb_frame(con, sql, params)


def run_query_with_freshness(
    settings: Settings, sql: str, params: list[object] | None = None
) -> tuple[pl.DataFrame, Freshness]:
    """The rows and the freshness of the data behind them, read through one connection (opening
    the DuckDB file costs ~20-30 ms at demo scale: once per answer, not twice)."""
    if settings.warehouse_kind == "bigquery":
        return _bigquery(settings, sql, params), freshness(settings)
    with _connect(settings) as con:
        return _duckdb_frame(con, sql, params), _freshness(settings, con)


def _bigquery(settings: Settings, sql: str, params: list[object] | None = None) -> pl.DataFrame:
    from google.cloud import bigquery

    options = {"api_endpoint": settings.bigquery_api_endpoint} if settings.bigquery_api_endpoint else None
    client = bigquery.Client(project=settings.bigquery_project, location=settings.bigquery_location,
                             client_options=options)  # fmt: skip
    config = None
    if params:  # positional `?` parameters, typed from the Python values
        config = bigquery.QueryJobConfig(query_parameters=[
            bigquery.ScalarQueryParameter(None, _bigquery_type(v), v) for v in params
        ])  # fmt: skip
    return pl.from_arrow(client.query(sql, job_config=config).to_arrow())  # type: ignore[return-value]


def _bigquery_type(value: object) -> str:
    if isinstance(value, bool):
        return "BOOL"
    if isinstance(value, int):
        return "INT64"
    if isinstance(value, float):
        return "FLOAT64"
    if isinstance(value, dt.datetime):
        return "TIMESTAMP"
    if isinstance(value, dt.date):
        return "DATE"
    return "STRING"


@dataclass(frozen=True)
class Freshness:
    """When the data behind an answer was last refreshed."""

    checked_at: dt.datetime
    sources_loaded_at: dict[str, dt.datetime | None] = field(default_factory=dict)
    models_built_at: dt.datetime | None = None

    @property
    def oldest_source_at(self) -> dt.datetime | None:
        times = [t for t in self.sources_loaded_at.values() if t is not None]
        return min(times) if times else None

    def age_hours(self) -> float | None:
        oldest = self.oldest_source_at
        return None if oldest is None else (self.checked_at - oldest).total_seconds() / 3600

    def as_dict(self) -> dict[str, object]:
        iso = lambda t: t.isoformat() if t else None  # noqa: E731
        return {
            "checked_at": iso(self.checked_at),
            "sources_loaded_at": {k: iso(v) for k, v in self.sources_loaded_at.items()},
            "models_built_at": iso(self.models_built_at),
        }


def freshness(settings: Settings) -> Freshness:
    """Last successful load per source (dlt's `_dlt_loads`) and the last dbt build."""
    if settings.warehouse_kind == "duckdb" and settings.warehouse_path.exists():
        with _connect(settings) as con:
            return _freshness(settings, con)
    return _freshness(settings, None)


def _freshness(settings: Settings, con: duckdb.DuckDBPyConnection | None) -> Freshness:
    now = dt.datetime.now(dt.timezone.utc)
    loaded: dict[str, dt.datetime | None] = {name: None for name in RAW_SOURCES}
    if con is not None:
        present = {r[0] for r in con.execute(
            "select table_schema from information_schema.tables where table_name = '_dlt_loads'"
        ).fetchall()}  # fmt: skip
        for name, schema in RAW_SOURCES.items():
            if schema in present:
                row = con.execute(f"select max(inserted_at) from {schema}._dlt_loads where status = 0").fetchone()
                loaded[name] = row[0] if row else None
    built = None
    # dagster-dbt writes each invocation's artifacts to its own folder under the target path
    runs = sorted(settings.dbt_target_dir.rglob("run_results.json"), key=lambda p: p.stat().st_mtime)
    if runs:
        generated = json.loads(runs[-1].read_text()).get("metadata", {}).get("generated_at")
        if generated:
            built = dt.datetime.fromisoformat(generated.replace("Z", "+00:00"))
    return Freshness(checked_at=now, sources_loaded_at=loaded, models_built_at=built)
