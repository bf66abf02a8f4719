"""A local BigQuery emulator (Crucible, `crucible-emulator` on PyPI) for the dbt BigQuery build.

Crucible runs BigQuery SQL on DuckDB through SQLGlot and refuses what it cannot match, which makes
it the emulator for `dbt build` with dbt-bigquery (views, tables, MERGE, seeds, data tests, unit
tests). It runs in its own tool environment (it pins DuckDB 1.5.6; the project uses DuckDB 2.x):

    uv tool run --from 'crucible-emulator[server]==0.1.0a2' crucible serve --dialect bigquery \\
        --port N [--database FILE]

    copy_raw_tables(duckdb_path, database, project="psz-test", log_path=...)
    with running_emulator(log_path=..., database=database) as endpoint:  # http://127.0.0.1:PORT
        ...  # dbt build with api_endpoint=endpoint

How raw data gets in, and why not through dlt: Crucible 0.1.0a2 takes neither dlt's BigQuery load
path (dlt reads its schema version with query parameters: "Not supported by Crucible: jobs.query
request field queryParameters"; its load jobs are JSON Lines or Parquet, Crucible loads only CSV;
there is no insertAll) nor bulk rows at speed (a CSV load job inserts about 1,700 rows/s, and
multi-row INSERT ... VALUES grows worse than linearly: 600 rows take 11 s). So the raw tables that
dlt loaded into a DuckDB warehouse are copied in two steps:

1. the tables are created through the emulator's REST API (`tables.insert`) with the BigQuery
   types dlt's BigQuery destination gives them (STRING, INT64, FLOAT64, BOOL, DATE, TIMESTAMP,
   JSON, NUMERIC), so Crucible itself decides their storage and metadata;
2. with the emulator stopped, its state file is filled from Parquet exports of the same tables by
   DuckDB inside the emulator's tool environment (this file run there as `fill`): each Crucible
   project is a DuckDB catalog file `<database>.catalogs/<n>.duckdb` with one schema per dataset
   (Crucible's ADR 0002), so the rows land in the tables step 1 created, cast to their types.

`running_emulator` raises `EmulatorUnavailable` when uv is missing or the install or the start
fails (the message carries the end of the emulator's log); it always stops the process group.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

try:  # the project's helpers; absent when this file runs as `fill` inside the tool environment
    from tests.support.bigquery_emulator import (
        EmulatorUnavailable,
        find_uv,
        free_port,
        running_until_ready,
    )
except ImportError:
    pass

TOOL_PACKAGE = "crucible-emulator[server]==0.1.0a2"
STARTUP_TIMEOUT_S = 120.0  # first run: uv downloads about 25 MB of wheels
RAW_SCHEMAS = ("raw_stripe", "raw_supabase", "raw_usage")
# DuckDB type (as dlt's DuckDB destination creates it) -> BigQuery type (as dlt's BigQuery
# destination creates it for the same dlt data type)
BIGQUERY_TYPES = {
    "VARCHAR": "STRING",
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "DOUBLE": "FLOAT64",
    "BOOLEAN": "BOOL",
    "DATE": "DATE",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
    "JSON": "JSON",
}


def command(uv: list[str], port: int, database: Path | None) -> list[str]:
    cmd = [*uv, "tool", "run", "--from", TOOL_PACKAGE, "crucible", "serve", "--dialect", "bigquery",
           "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    return cmd + (["--database", str(database)] if database is not None else [])


def _uv() -> list[str]:
    uv = find_uv()
    if uv is None:
        raise EmulatorUnavailable("uv not found (needed to run crucible in its own environment)")
    return uv


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}


@contextlib.contextmanager
def running_emulator(
    log_path: Path, database: Path | None = None, timeout_s: float = STARTUP_TIMEOUT_S
) -> Iterator[str]:
    """Start Crucible on a free loopback port (state in `database`, else in memory), yield its
    endpoint, always stop its process group."""
    port = free_port()
    with running_until_ready("crucible", command(_uv(), port, database), _env(), log_path,
                             f"http://127.0.0.1:{port}", "/_crucible/health", timeout_s) as endpoint:  # fmt: skip
        yield endpoint


def bigquery_client(endpoint: str, project: str) -> Any:
    """google-cloud-bigquery's client for the emulator (anonymous credentials)."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    return bigquery.Client(
        project=project,
        credentials=AnonymousCredentials(),
        client_options={"api_endpoint": endpoint},
    )


def bigquery_type(duckdb_type: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return "NUMERIC"
    try:
        return BIGQUERY_TYPES[duckdb_type]
    except KeyError:
        raise NotImplementedError(f"no BigQuery copy for DuckDB type {duckdb_type}") from None


def copy_raw_tables(
    duckdb_path: Path, database: Path, project: str, log_path: Path,
    schemas: Sequence[str] = RAW_SCHEMAS, location: str = "US",
) -> dict[str, int]:  # fmt: skip
    """Copy every table of `schemas` from the DuckDB warehouse into datasets of the same names in
    the emulator state file `database` (created if missing). Returns rows per `dataset.table`.

    The emulator must not be running on `database` (it locks the file); the DuckDB warehouse is
    opened read-only and closed again.
    """
    import duckdb
    from google.cloud import bigquery

    work = Path(tempfile.mkdtemp(prefix="crucible_copy_", dir=database.parent))
    tables: list[dict[str, Any]] = []
    con = duckdb.connect(str(duckdb_path), read_only=True)
    try:
        columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, table, column, dtype in con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            "where table_schema in (select unnest(?)) order by table_schema, table_name, ordinal_position",
            [list(schemas)],
        ).fetchall():  # fmt: skip
            columns.setdefault((schema, table), []).append((column, bigquery_type(dtype)))
        for (schema, table), cols in columns.items():
            parquet = work / f"{schema}.{table}.parquet"
            con.execute(
                f'copy (select * from "{schema}"."{table}") to \'{parquet}\' (format parquet)'
            )
            rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()
            tables.append({"dataset": schema, "table": table, "columns": cols, "parquet": str(parquet),
                           "rows": rows[0] if rows else 0})  # fmt: skip
    finally:
        con.close()

    # 1. datasets and empty tables, typed by the emulator's own REST API
    with running_emulator(log_path, database=database) as endpoint:
        client = bigquery_client(endpoint, project)
        try:
            for dataset in sorted({t["dataset"] for t in tables}):
                ds = bigquery.Dataset(f"{project}.{dataset}")
                ds.location = location
                client.create_dataset(ds, exists_ok=True)
            for t in tables:
                ref = f"{project}.{t['dataset']}.{t['table']}"
                client.delete_table(ref, not_found_ok=True)
                schema_fields = [bigquery.SchemaField(name, kind) for name, kind in t["columns"]]
                client.create_table(bigquery.Table(ref, schema=schema_fields))
        finally:
            client.close()

    # 2. the rows, written into the stopped emulator's state by DuckDB in its tool environment
    manifest = work / "tables.json"
    manifest.write_text(json.dumps({"project": project, "tables": tables}))
    cmd = [*_uv(), "tool", "run", "--from", TOOL_PACKAGE, "python", str(Path(__file__).resolve()),
           "fill", str(database), str(manifest)]  # fmt: skip
    result = subprocess.run(
        cmd, check=False, capture_output=True, text=True, env=_env(), stdin=subprocess.DEVNULL
    )
    if result.returncode != 0:
        raise EmulatorUnavailable(f"filling the emulator's tables failed:\n{result.stderr[-3000:]}")
    for path in work.iterdir():
        path.unlink()
    work.rmdir()
    return {f"{t['dataset']}.{t['table']}": t["rows"] for t in tables}


# ----------------------------------------------------------------------------- inside the tool env
def fill(database: str, manifest_path: str) -> None:
    """Insert each table's Parquet rows into the table the emulator created for it."""
    import duckdb

    manifest = json.loads(Path(manifest_path).read_text())
    meta = duckdb.connect(database, read_only=True)
    try:
        found = meta.execute(
            "select file from main.catalogs where name = ?", [manifest["project"]]
        ).fetchone()
    finally:
        meta.close()
    if found is None or found[0] is None:
        sys.exit(f"project {manifest['project']} has no catalog file in {database}")
    con = duckdb.connect(found[0])
    try:
        con.execute("begin")
        for t in manifest["tables"]:
            target = f'"{t["dataset"]}"."{t["table"]}"'
            con.execute(
                f"insert into {target} by name select * from read_parquet(?)", [t["parquet"]]
            )
            n = con.execute(f"select count(*) from {target}").fetchone()
            if n is None or n[0] != t["rows"]:
                sys.exit(f"{target}: {n} rows after the copy, expected {t['rows']}")
        con.execute("commit")
        con.execute("checkpoint")
    finally:
        con.close()


if __name__ == "__main__":
    if sys.argv[1:2] != ["fill"] or len(sys.argv) != 4:
        sys.exit(f"usage: {sys.argv[0]} fill <crucible database file> <tables.json>")
    fill(sys.argv[2], sys.argv[3])
