"""The live Supabase path against a real PostgreSQL: `supabase_postgres` reads the application
tables with dlt's `sql_table` (pyarrow backend), merges on `id`, extracts incrementally on
`updated_at` and quarantines rows whose `id` is null.

Needs PostgreSQL on 127.0.0.1:5432 (trust auth, database `test`): skips locally without it,
fails in CI.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from analytics.settings import Settings
from orchestration.ingestion.pipelines import make_pipeline
from orchestration.supabase.source import CURSOR, TABLES, supabase_postgres
from tests.conftest import service_unavailable

pytestmark = pytest.mark.service

PG_HOST, PG_PORT, PG_DB = "127.0.0.1", 5432, "test"
PG_USERS = ("postgres", "root")


def _pg_type(t: pa.DataType) -> str:
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_floating(t):
        return "double precision"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    raise TypeError(f"no PostgreSQL type for {t}")


def _connect() -> tuple[Any, str]:
    """An engine on the first user that can log in, and its DSN in the form settings document."""
    import sqlalchemy as sa

    errors = []
    for user in PG_USERS:
        dsn = f"postgresql://{user}@{PG_HOST}:{PG_PORT}/{PG_DB}"
        engine = sa.create_engine(
            dsn.replace("postgresql://", "postgresql+psycopg2://"),
            connect_args={"connect_timeout": 3},
        )
        try:
            with engine.connect() as con:
                con.execute(sa.text("select 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable as this user"
            errors.append(f"{user}: {str(exc).strip().splitlines()[0]}")
            engine.dispose()
            continue
        return engine, dsn
    service_unavailable(
        f"PostgreSQL at {PG_HOST}:{PG_PORT}/{PG_DB} not reachable ({'; '.join(errors)})"
    )
    raise AssertionError("unreachable")


def _load_table(cur: Any, schema: str, name: str, table: pa.Table) -> None:
    """CREATE TABLE (id a plain column, no primary key) and COPY the Arrow table in as CSV."""
    cols = ", ".join(f'"{f.name}" {_pg_type(f.type)}' for f in table.schema)
    cur.execute(f'CREATE TABLE "{schema}"."{name}" ({cols})')
    buf = io.BytesIO()
    # strings are quoted, nulls are written as nothing: COPY's CSV format reads those as NULL
    pacsv.write_csv(table, buf, pacsv.WriteOptions(include_header=True))
    buf.seek(0)
    names = ", ".join(f'"{c}"' for c in table.column_names)
    cur.copy_expert(
        f'COPY "{schema}"."{name}" ({names}) FROM STDIN WITH (FORMAT csv, HEADER true)', buf
    )


@pytest.fixture(scope="module")
def pg(demo_files: Path) -> Iterator[tuple[Any, str, str]]:
    """A fresh schema holding the demo application tables; yields (engine, dsn, schema)."""
    import sqlalchemy as sa

    engine, dsn = _connect()
    schema = f"psz_test_{uuid.uuid4().hex[:12]}"
    raw = engine.raw_connection()
    try:
        with raw.cursor() as cur:
            cur.execute(f'CREATE SCHEMA "{schema}"')
            for name in TABLES:
                _load_table(
                    cur, schema, name, pq.read_table(demo_files / "supabase" / f"{name}.parquet")
                )
        raw.commit()
    finally:
        raw.close()
    try:
        yield engine, dsn, schema
    finally:
        with engine.begin() as con:
            con.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def _pg_counts(engine: Any, schema: str) -> dict[str, tuple[int, int]]:
    """(rows, rows with a null id) per table."""
    import sqlalchemy as sa

    with engine.connect() as con:
        return {
            t: tuple(
                con.execute(
                    sa.text(f'SELECT count(*), count(*) - count(id) FROM "{schema}"."{t}"')
                ).one()
            )
            for t in TABLES
        }


def _wh_counts(settings: Settings) -> dict[str, int]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return {
            t: con.execute(f"SELECT count(*) FROM raw_supabase.{t}").fetchone()[0] for t in TABLES
        }


def _wh(settings: Settings, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        return con.execute(sql, list(params)).fetchall()


def _extracted(pipeline: Any) -> dict[str, int]:
    """Rows per Supabase table that the last run actually normalized (dlt's own counts)."""
    counts = pipeline.last_trace.last_normalize_info.row_counts
    return {t: counts.get(t, 0) for t in TABLES}


@pytest.fixture
def sql_log() -> Iterator[list[tuple[str, Any]]]:
    """Every statement any SQLAlchemy engine sends while the test runs (dlt makes its own)."""
    import sqlalchemy as sa

    log: list[tuple[str, Any]] = []

    def record(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        log.append((statement, parameters))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", record)
    try:
        yield log
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", record)


def _cursor_bounds(log: list[tuple[str, Any]], schema: str) -> dict[str, Any]:
    """Per table, the lower `updated_at` bound of dlt's extraction query (None: no bound)."""
    bounds: dict[str, Any] = {}
    for statement, params in log:
        for t in TABLES:
            if re.search(rf"^SELECT .*\sFROM {schema}\.{t}\b", statement, re.DOTALL):
                where = re.search(rf"WHERE {schema}\.{t}\.{CURSOR} >= %\((\w+)\)s", statement)
                bounds[t] = params[where.group(1)] if where else None
    return bounds


def _wh_cursors(settings: Settings) -> dict[str, Any]:
    return {t: _wh(settings, f"SELECT max({CURSOR}) FROM raw_supabase.{t}")[0][0] for t in TABLES}


def test_live_postgres_merges_incrementally_and_quarantines_null_ids(
    pg: tuple[Any, str, str], make_settings: Callable[..., Settings], sql_log: list[tuple[str, Any]]
) -> None:
    import sqlalchemy as sa

    engine, dsn, schema = pg
    settings = make_settings()
    pipeline = make_pipeline("supabase", settings)

    # 1. first run: everything except the null-id row lands, that row goes to quarantine
    source = supabase_postgres(dsn, schema)  # reflects the tables
    sql_log.clear()
    pipeline.run(source, loader_file_format="parquet")
    assert _cursor_bounds(sql_log, schema) == dict.fromkeys(TABLES), "first run reads whole tables"
    pg_counts = _pg_counts(engine, schema)
    assert pg_counts["support_tickets"][1] == 1, "the demo files plant one null-id support ticket"
    expected = {t: rows - null_ids for t, (rows, null_ids) in pg_counts.items()}
    assert _wh_counts(settings) == expected
    assert _extracted(pipeline) == expected
    quarantined = _wh(settings, "SELECT source_table, reason, record FROM raw_supabase.quarantine")
    assert len(quarantined) == 1
    source_table, reason, record = quarantined[0]
    assert source_table == "support_tickets"
    assert "id" in reason
    assert '"id":null' in record

    # 2. nothing changed: the query is bounded by the stored cursor, nothing new is extracted and
    #    nothing is duplicated
    cursors = _wh_cursors(settings)
    source = supabase_postgres(dsn, schema)
    sql_log.clear()
    pipeline.run(source, loader_file_format="parquet")
    assert _cursor_bounds(sql_log, schema) == cursors
    assert _wh_counts(settings) == expected
    assert _extracted(pipeline) == dict.fromkeys(TABLES, 0)
    assert _wh(settings, "SELECT count(*) FROM raw_supabase.quarantine") == [(1,)]

    # 3. one organisation renamed, one user added, both newer than anything loaded
    later = max(cursors.values()) + dt.timedelta(days=1)
    with engine.begin() as con:
        org_id = con.execute(
            sa.text(f'SELECT id FROM "{schema}".organizations ORDER BY id LIMIT 1')
        ).scalar_one()
        con.execute(
            sa.text(
                f'UPDATE "{schema}".organizations SET name = :name, updated_at = :ts WHERE id = :id'
            ),
            {"name": "Renamed Org", "ts": later, "id": org_id},
        )
        con.execute(
            sa.text(
                f'INSERT INTO "{schema}".users (id, organization_id, email, role, created_at, updated_at) '
                "VALUES (:id, :org, :email, 'member', :ts, :ts)"
            ),
            {"id": "usr_test_new", "org": org_id, "email": "new@example.com", "ts": later},
        )
    source = supabase_postgres(dsn, schema)
    sql_log.clear()
    pipeline.run(source, loader_file_format="parquet")
    assert _cursor_bounds(sql_log, schema) == cursors

    after = _wh_counts(settings)
    assert after == expected | {"users": expected["users"] + 1}
    assert _wh(settings, "SELECT name FROM raw_supabase.organizations WHERE id = ?", org_id) == [
        ("Renamed Org",)
    ]
    assert _wh(settings, "SELECT count(*) FROM raw_supabase.users WHERE id = 'usr_test_new'") == [
        (1,)
    ]
    # the cursor limited the extraction to the two changed rows
    assert _extracted(pipeline) == dict.fromkeys(TABLES, 0) | {"organizations": 1, "users": 1}


@pytest.mark.parametrize("scheme", ["postgresql://", "postgres://", "postgresql+psycopg2://"])
def test_every_dsn_form_settings_accept_reaches_postgres(
    pg: tuple[Any, str, str], scheme: str
) -> None:
    """Settings accept these three forms; the source must open each with the installed driver."""
    _, dsn, schema = pg
    source = supabase_postgres(
        dsn.replace("postgresql://", scheme), schema, tables=("organizations",)
    )
    assert list(source.resources) == ["organizations"]
