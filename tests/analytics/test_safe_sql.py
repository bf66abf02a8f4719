"""The read-only SQL tool's guard and execution: a hostile corpus, positive queries, paging,
time limits, result bounds, and that the warehouse is unchanged afterwards."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import json
import math
import statistics
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from analytics import safe_sql
from analytics.safe_sql import CursorError, SafeSqlError, SqlFailed, SqlRefused, SqlTimeout
from analytics.settings import Settings
from analytics.warehouse import current_snapshot, read_only_connection

# (id, query, fragment the refusal must contain)
HOSTILE: list[tuple[str, str, str]] = [
    # more than one statement, hidden or not
    (
        "two-statements",
        "select 1 from marts.dim_plans; drop table marts.dim_plans",
        "exactly one statement",
    ),
    (
        "trailing-insert",
        "select * from marts.dim_plans;insert into marts.dim_plans select * from marts.dim_plans",
        "exactly one statement",
    ),
    (
        "comment-then-drop",
        "select 1 from marts.dim_plans -- harmless\n; drop table marts.dim_customers",
        "exactly one statement",
    ),
    (
        "block-comment-then-delete",
        "select 1 from marts.dim_plans /* x */; /* y */ delete from marts.dim_plans",
        "exactly one statement",
    ),
    ("leading-drop", "drop table marts.dim_plans; select 1", "exactly one statement"),
    (
        "unterminated-comment-trick",
        "select 1 from marts.dim_plans /* ; drop table marts.dim_plans",
        "could not be parsed",
    ),
    (
        "quote-breakout",
        "select 'x' from marts.dim_plans'; drop table marts.dim_plans; --",
        "could not be parsed",
    ),
    (
        "dollar-quote-breakout",
        "select $$x$$ from marts.dim_plans; drop table marts.dim_plans",
        "exactly one statement",
    ),
    (
        "pragma-after-select",
        "select 1 from marts.dim_plans; pragma enable_profiling",
        "exactly one statement",
    ),
    # writes and DDL
    ("insert", "insert into marts.dim_plans select * from marts.dim_plans", "INSERT"),
    ("update", "update marts.dim_customers set segment = 'x'", "UPDATE"),
    ("delete", "delete from marts.fct_invoices", "DELETE"),
    (
        "merge",
        (
            "merge into marts.dim_plans t using marts.dim_plans s on t.price_id = s.price_id "
            "when matched then delete"
        ),
        "MERGE",
    ),
    ("drop-table", "drop table marts.dim_plans", "DROP"),
    ("drop-schema", "drop schema marts cascade", "DROP"),
    ("alter", "alter table marts.dim_plans add column x int", "ALTER"),
    ("truncate", "truncate marts.dim_plans", "TRUNCATE"),
    ("create-table-as", "create table marts.copy as select * from marts.dim_plans", "CREATE"),
    ("create-temp-table", "create temp table t as select * from marts.dim_plans", "CREATE"),
    ("create-temp-view", "create temp view v as select * from raw_stripe.charges", "CREATE"),
    ("create-macro", "create macro leak() as table select * from raw_stripe.charges", "CREATE"),
    ("create-secret", "create secret s (type s3, key_id 'a', secret 'b')", "CREATE"),
    ("select-into", "select * into marts.stolen from marts.dim_customers", "SELECT ... INTO"),
    (
        "cte-insert",
        (
            "with x as (insert into marts.dim_plans select * from marts.dim_plans returning *) "
            "select * from x"
        ),
        "INSERT",
    ),
    # files and the network
    ("read-csv", "select * from read_csv('/etc/passwd')", "read_csv"),
    ("read-csv-auto", "select * from read_csv_auto('/etc/passwd')", "read_csv"),
    (
        "read-parquet-url",
        "select * from read_parquet('https://example.com/x.parquet')",
        "read_parquet",
    ),
    ("read-json", "select * from read_json('/etc/hosts')", "read_json"),
    ("read-text", "select * from read_text('/etc/passwd')", "read_text"),
    ("read-text-scalar", "select read_text('/etc/passwd') from marts.dim_plans", "read_text"),
    ("read-blob", "select * from read_blob('/root/.ssh/id_rsa')", "read_blob"),
    ("glob", "select * from glob('/etc/*')", "glob"),
    ("from-file-string", "select * from '/etc/passwd'", "file or URL"),
    ("from-url-string", "select * from 'http://example.com/data.csv'", "file or URL"),
    (
        "from-file-in-subquery",
        "select * from marts.dim_plans where price_id in (from 'prices.csv')",
        "file or URL",
    ),
    ("lateral-read", "select * from marts.dim_plans, lateral read_csv('/etc/passwd')", "read_csv"),
    (
        "join-file-subquery",
        "select * from marts.dim_plans p join (select * from read_blob('/etc/shadow')) b on true",
        "read_blob",
    ),
    ("sqlite-scan", "select * from sqlite_scan('/tmp/x.db', 't')", "sqlite_scan"),
    (
        "postgres-scan",
        "select * from postgres_scan('host=localhost', 'public', 'users')",
        "postgres_scan",
    ),
    ("iceberg-scan", "select * from iceberg_scan('s3://bucket/t')", "iceberg_scan"),
    ("delta-scan", "select * from delta_scan('s3://bucket/t')", "delta_scan"),
    ("parquet-metadata", "select * from parquet_metadata('/tmp/x.parquet')", "parquet_metadata"),
    ("copy-to", "copy (select * from marts.dim_customers) to '/tmp/customers.csv'", "COPY"),
    ("copy-from", "copy marts.dim_plans from '/tmp/plans.csv'", "COPY"),
    ("export-database", "export database '/tmp/dump'", "parsed"),
    ("import-database", "import database '/tmp/dump'", "parsed"),
    ("attach", "attach '/tmp/other.duckdb' as other", "ATTACH"),
    ("attach-md", "attach 'md:' as cloud", "ATTACH"),
    ("detach", "detach warehouse", "DETACH"),
    ("install-httpfs", "install httpfs", "INSTALL"),
    ("load-httpfs", "load httpfs", "LOAD"),
    # settings, session and catalogue
    ("set", "set enable_external_access = true", "SET"),
    ("set-variable", "set variable x = 1", "SET"),
    ("reset", "reset threads", "RESET"),
    ("pragma", "pragma database_list", "PRAGMA"),
    ("call", "call pragma_version()", "CALL"),
    ("checkpoint", "checkpoint", "not a SELECT statement"),
    ("vacuum", "vacuum", "VACUUM"),
    ("use", "use raw_stripe", "USE"),
    ("begin", "begin transaction", "BEGIN"),
    ("commit", "commit", "COMMIT"),
    ("describe", "describe marts.dim_customers", "DESCRIBE"),
    ("show-tables", "show tables", "SHOW"),
    ("summarize", "summarize marts.dim_customers", "SUMMARIZE"),
    ("pivot-statement", "pivot marts.dim_customers on segment using count(*)", "PIVOT"),
    ("duckdb-settings", "select * from duckdb_settings()", "duckdb_settings"),
    ("duckdb-tables-fn", "select * from duckdb_tables()", "duckdb_tables"),
    ("duckdb-secrets", "select * from duckdb_secrets()", "duckdb_secrets"),
    ("system-qualified-fn", "select system.main.duckdb_settings()", "schema-qualified function"),
    (
        "pragma-table-info",
        "select * from pragma_table_info('raw_stripe.charges')",
        "pragma_table_info",
    ),
    ("query-fn", "select * from query('select * from raw_stripe.charges')", "query"),
    ("query-table-fn", "select * from query_table('raw_stripe.charges')", "query_table"),
    (
        "json-execute-sql",
        "select * from json_execute_serialized_sql(json_serialize_sql('select 1'))",
        "json_execute_serialized_sql",
    ),
    ("getenv", "select getenv('HOME') from marts.dim_plans", "getenv"),
    ("memory bomb", "select repeat('x', 1000000000) as s from range(100)", "repeat"),
    ("memory bomb, padded", "select lpad('', 1000000000, 'x') from marts.dim_plans", "pad"),
    (
        "current-setting",
        "select current_setting('enable_external_access') from marts.dim_plans",
        "current_setting",
    ),
    ("getvariable", "select getvariable('x') from marts.dim_plans", "getvariable"),
    ("nextval", "select nextval('raw_stripe.seq') from marts.dim_plans", "nextval"),
    ("setseed", "select setseed(0.5) from marts.dim_plans", "setseed"),
    ("sleep", "select pg_sleep(100) from marts.dim_plans", "pg_sleep"),
    (
        "pg-get-viewdef",
        "select pg_get_viewdef('staging.stg_x') from marts.dim_plans",
        "pg_get_viewdef",
    ),
    # tables outside marts and analytics
    ("raw-schema", "select * from raw_stripe.charges", "schema 'raw_stripe'"),
    (
        "raw-in-subquery",
        "select * from marts.dim_customers where customer_id in (select id from raw_stripe.customers)",
        "schema 'raw_stripe'",
    ),
    (
        "raw-in-cte",
        "with c as (select * from raw_supabase.users) select * from c",
        "schema 'raw_supabase'",
    ),
    ("staging", "select * from staging.stg_stripe__charges", "schema 'staging'"),
    ("intermediate", "select * from intermediate.int_x", "schema 'intermediate'"),
    ("demo-truth", "select * from demo_truth.customers", "schema 'demo_truth'"),
    (
        "information-schema",
        "select * from information_schema.tables",
        "schema 'information_schema'",
    ),
    ("pg-catalog", "select * from pg_catalog.pg_class", "schema 'pg_catalog'"),
    ("main-schema", "select * from main.anything", "schema 'main'"),
    ("unqualified", "select * from dim_customers", "not schema-qualified"),
    ("unqualified-system-view", "select * from sqlite_master", "not schema-qualified"),
    ("unqualified-duckdb-view", "select * from duckdb_tables", "not schema-qualified"),
    (
        "cte-forward-reference",
        "with a as (select * from duckdb_tables), duckdb_tables as (select 1) select * from a",
        "not schema-qualified",
    ),
    (
        "cte-out-of-scope",
        "select * from (with t as (select 1) select * from t) x, t",
        "not schema-qualified",
    ),
    ("catalog-3-part", "select * from warehouse.marts.dim_plans", "another database"),
    ("system-catalog", "select * from system.main.duckdb_tables", "another database"),
    ("temp-catalog", "select * from temp.main.t", "another database"),
    ("quoted-raw", 'select * from "RAW_STRIPE"."charges"', "schema 'RAW_STRIPE'"),
    ("schema-homoglyph", 'select * from "marts "."dim_plans"', "schema 'marts '"),
    (
        "union-with-raw",
        "select customer_id from marts.dim_customers union all select id from raw_stripe.customers",
        "schema 'raw_stripe'",
    ),
    ("describe-subquery", "select * from (describe raw_stripe.charges)", "DESCRIBE"),
    (
        "lambda-read-text",
        "select list_transform(['/etc/passwd'], x -> read_text(x)) from marts.dim_plans",
        "read_text",
    ),
    (
        "lateral-raw",
        "select * from marts.dim_plans, lateral (select * from raw_stripe.charges)",
        "schema 'raw_stripe'",
    ),
    (
        "exists-raw",
        "select * from marts.dim_plans where exists (from raw_stripe.charges)",
        "schema 'raw_stripe'",
    ),
    ("for-update", "select * from marts.dim_plans for update", "LOCK"),
    ("execute", "execute leak", "EXECUTE"),
    # parse failures, parameters, size
    ("garbage", "selec * frm marts.dim_plans", "Refused"),
    ("empty", "   ", "empty"),
    ("only-comment", "-- nothing here", "exactly one statement"),
    ("parameter", "select * from marts.dim_plans where price_id = ?", "parameters"),
    ("dollar-parameter", "select * from marts.dim_plans where price_id = $1", "parameters"),
    ("nul-byte", "select 1 from marts.dim_plans\x00; drop table marts.dim_plans", "NUL"),
    (
        "huge",
        "select 1 from marts.dim_plans where " + " or ".join(["1=1"] * 6000),
        "characters long",
    ),
]

# Queries the engine itself must refuse too, without the guard: the sandbox is a second wall.
ENGINE_REFUSES = {
    "insert", "update", "delete", "drop-table", "alter", "create-table-as", "create-macro", "copy-to",
    "export-database", "attach", "install-httpfs", "load-httpfs", "set", "read-csv", "read-text",
    "read-blob", "glob", "from-file-string", "from-url-string", "read-parquet-url",
}  # fmt: skip


def _fingerprint(settings: Settings) -> dict[str, Any]:
    """Bytes and mtime of the warehouse files (the build file and any published snapshot), and
    every table of the served warehouse with its row count. Reads only."""
    files = [settings.warehouse_path, Path(f"{settings.warehouse_path}.wal")]
    if settings.snapshots_dir.exists():
        files += sorted(p for p in settings.snapshots_dir.rglob("*") if p.is_file())
    stamp = {
        str(p): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in files
        if p.exists()
    }
    with read_only_connection(settings) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() order by 1, 2"
        ).fetchall()
        counts = {
            f"{s}.{t}": con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
            for s, t in tables
        }  # type: ignore[index]
    return {"files": stamp, "tables": counts}


@pytest.fixture(scope="module")
def before(dbt_settings: Settings) -> dict[str, Any]:
    return _fingerprint(dbt_settings)


def test_the_corpus_is_large_and_distinct() -> None:
    assert len(HOSTILE) >= 50
    assert len({h[0] for h in HOSTILE}) == len(HOSTILE) and len({h[1] for h in HOSTILE}) == len(
        HOSTILE
    )


@pytest.mark.parametrize(("sql", "reason"), [h[1:] for h in HOSTILE], ids=[h[0] for h in HOSTILE])
def test_hostile_query_is_refused(
    dbt_settings: Settings, before: dict[str, Any], sql: str, reason: str
) -> None:
    with pytest.raises(SqlRefused) as caught:
        safe_sql.run(dbt_settings, sql, timeout_seconds=2)
    message = str(caught.value)
    assert reason.lower() in message.lower(), message
    assert (
        message.startswith("Refused: ") and "Allowed: one SELECT" in message
    )  # what and why, what IS allowed
    assert "Traceback" not in message


@pytest.mark.parametrize("name", sorted(ENGINE_REFUSES))
def test_the_sandboxed_connection_refuses_without_the_guard(
    dbt_settings: Settings, before: dict[str, Any], name: str
) -> None:
    sql = next(h[1] for h in HOSTILE if h[0] == name)
    with read_only_connection(dbt_settings) as con, pytest.raises(duckdb.Error):
        con.execute(sql).fetchall()


def test_runaway_queries_are_interrupted_and_the_warehouse_keeps_working(
    dbt_settings: Settings,
) -> None:
    bombs = [
        "with recursive t(n) as (select 1 union all select n + 1 from t) select count(*) from t",
        "select count(*) from marts.fct_mrr_daily a, marts.fct_mrr_daily b, marts.fct_mrr_daily c",
    ]
    for sql in bombs:
        started = time.perf_counter()
        with pytest.raises(SqlTimeout, match=r"time limit of 1 s"):
            safe_sql.run(dbt_settings, sql, timeout_seconds=1)
        assert time.perf_counter() - started < 2.5, sql
        page = safe_sql.run(dbt_settings, "select count(*) as n from marts.dim_plans")
        assert page.rows[0][0] > 0


def test_warehouse_errors_are_clear(dbt_settings: Settings) -> None:
    with pytest.raises(SqlFailed, match="could not run the query: .*no_such_column") as caught:
        safe_sql.run(dbt_settings, "select no_such_column from marts.dim_plans")
    assert "LINE 1" not in str(caught.value)
    with pytest.raises(SqlFailed, match="nope"):
        safe_sql.run(dbt_settings, "select * from marts.nope")


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"sql": "select 1", "page_size": 0}, "page_size must be"),
        ({"sql": "select 1", "page_size": 10**9}, "page_size must be"),
        ({"sql": "select 1", "timeout_seconds": 0}, "timeout_seconds must be"),
        ({"sql": "select 1", "timeout_seconds": 3600}, "timeout_seconds must be"),
        ({}, "pass sql"),
        ({"cursor": "garbage"}, "cursor is not valid"),
        ({"cursor": "a.b"}, "cursor is not valid"),
        ({"cursor": "x" * 100_000}, "cursor is not valid"),
    ],
)
def test_bad_arguments_are_clear_errors(
    dbt_settings: Settings, kwargs: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(SafeSqlError, match=fragment):
        safe_sql.run(dbt_settings, **kwargs)


# ---- positive cases, checked against independent direct queries ------------------------------------


def _direct(settings: Settings, sql: str) -> list[list[Any]]:
    """Reference rows from a separate query on the same data (a connection opened and closed here:
    DuckDB refuses two configurations of one file in a process, so no long-lived fixture)."""
    with read_only_connection(settings) as con:
        rows = con.execute(sql).fetchall()
    return [[v.isoformat() if isinstance(v, dt.date) else v for v in row] for row in rows]


def test_cte_join_across_marts_and_analytics(dbt_settings: Settings) -> None:
    page = safe_sql.run(dbt_settings, """
        with risk as (select customer_id, churn_probability from analytics.churn_predictions)
        select c.segment, count(*) as customers, sum(r.churn_probability) as total_probability
        from marts.dim_customers c join risk r on r.customer_id = c.customer_id
        group by c.segment order by c.segment""")  # fmt: skip
    assert [c.name for c in page.columns] == ["segment", "customers", "total_probability"]
    assert set(page.tables) == {"analytics.churn_predictions", "marts.dim_customers"}
    customers: dict[str, str] = dict(
        _direct(dbt_settings, "select customer_id, segment from marts.dim_customers")
    )  # type: ignore[arg-type]
    want: dict[str, list[float]] = {}
    for cid, p in _direct(
        dbt_settings, "select customer_id, churn_probability from analytics.churn_predictions"
    ):
        if cid in customers:
            want.setdefault(customers[cid], []).append(p)
    assert [r[0] for r in page.rows] == sorted(want) and len(want) >= 2
    for segment, n, total in page.rows:
        assert n == len(want[segment]) and total == pytest.approx(math.fsum(want[segment]))
    assert (
        page.ordered
        and not page.has_more
        and page.total_rows == len(want)
        and page.next_cursor is None
    )
    assert page.freshness.sources_loaded_at and page.query_ms > 0 and page.guard_ms > 0


def test_window_function_and_union(dbt_settings: Settings) -> None:
    page = safe_sql.run(dbt_settings, """
        select segment, customer_id, health_score from (
            select segment, customer_id, health_score,
                   row_number() over (partition by segment order by health_score desc, customer_id) as rn
            from marts.fct_customer_health_current) where rn = 1
        union all
        select 'all', null, max(health_score) from marts.fct_customer_health_current
        order by segment""")  # fmt: skip
    rows = _direct(
        dbt_settings,
        "select segment, customer_id, health_score from marts.fct_customer_health_current",
    )
    best: dict[str, tuple[float, str]] = {}
    for segment, cid, score in rows:  # highest score, ties to the smallest id
        if segment not in best or (-score, cid) < (-best[segment][0], best[segment][1]):
            best[segment] = (score, cid)
    want = sorted(
        [[s, c, v] for s, (v, c) in best.items()] + [["all", None, max(r[2] for r in rows)]]
    )
    assert page.rows == want


def test_range_and_unnest_are_allowed(dbt_settings: Settings) -> None:
    page = safe_sql.run(
        dbt_settings, "select r.range as n, unnest([1, 2]) as k from range(3) r order by n, k"
    )
    assert page.rows == [[0, 1], [0, 2], [1, 1], [1, 2], [2, 1], [2, 2]]


@pytest.mark.parametrize("own_limit", [False, True])
def test_paging_returns_every_row_once_in_order(dbt_settings: Settings, own_limit: bool) -> None:
    where = "where date_day >= date '2026-10-15'"
    sql = f"select customer_id, date_day, mrr from marts.fct_mrr_daily {where} order by customer_id, date_day"
    if own_limit:
        sql += " limit 2345"
    want = _direct(dbt_settings, f"select customer_id, date_day, mrr from marts.fct_mrr_daily {where} "
                              f"order by 1, 2 {'limit 2345' if own_limit else ''}")  # fmt: skip
    assert len(want) > 2000
    got: list[list[Any]] = []
    page = safe_sql.run(dbt_settings, sql, page_size=1000)
    sizes = itertools.cycle([7, 500, 1000])
    while True:
        assert page.offset == len(got)
        got.extend(page.rows)
        if not page.has_more:
            break
        assert page.next_cursor and page.total_rows is None
        page = safe_sql.run(dbt_settings, cursor=page.next_cursor, page_size=next(sizes))
    assert got == want and page.total_rows == len(want) and page.next_cursor is None
    assert not page.notes  # ordered, nothing cut


def test_unordered_query_is_flagged_when_paged(dbt_settings: Settings) -> None:
    page = safe_sql.run(dbt_settings, "select customer_id from marts.dim_customers", page_size=10)
    assert page.has_more and not page.ordered
    assert any("no ORDER BY" in n for n in page.notes)


def test_large_cells_and_pages_are_bounded_and_said(dbt_settings: Settings) -> None:
    # big cells built from the data (repeat and friends are refused): every lead's id, joined
    big = "(select string_agg(lead_id, ',' order by lead_id) from marts.fct_leads)"
    full = safe_sql.run(dbt_settings, f"select length({big}) as n from marts.dim_plans limit 1").rows[0][0]
    assert full > safe_sql.MAX_CELL_CHARS
    page = safe_sql.run(dbt_settings, f"select {big} as big, 1 as one from marts.dim_plans limit 2")
    assert len(page.rows) == 2 and len(page.rows[0][0]) < safe_sql.MAX_CELL_CHARS + 100
    assert f"{full - safe_sql.MAX_CELL_CHARS:,} more characters" in page.rows[0][0]
    assert any("cut" in n and "row 0 column 'big'" in n for n in page.notes)
    # cells just under the cell limit: 100 of them overflow a page
    cell = f"left({big}, {safe_sql.MAX_CELL_CHARS - 1000})"
    sql = f"select r.range as i, {cell} as s from range(100) r order by i"
    got, page, cursor = [], None, None
    while page is None or page.has_more:
        page = safe_sql.run(
            dbt_settings, sql if cursor is None else None, cursor=cursor, page_size=100
        )
        assert len(json.dumps(page.rows)) <= safe_sql.MAX_PAGE_CHARS + 100
        if page.has_more:
            assert any("page shortened" in n for n in page.notes)
        got.extend(r[0] for r in page.rows)
        cursor = page.next_cursor
    assert got == list(range(100))


def test_cursor_is_never_trusted(dbt_settings: Settings) -> None:
    sql = "select customer_id from marts.dim_customers order by customer_id"
    first = safe_sql.run(dbt_settings, sql, page_size=5)
    assert first.next_cursor
    # the same query passed alongside the cursor is fine; another query is not
    assert safe_sql.run(dbt_settings, sql, cursor=first.next_cursor, page_size=5).offset == 5
    with pytest.raises(CursorError, match="different query"):
        safe_sql.run(dbt_settings, "select 1 from marts.dim_plans", cursor=first.next_cursor)
    # edited payload (offset) with the old checksum
    payload, mac = first.next_cursor.split(".")
    raw = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    raw["offset"] = 0
    edited = base64.urlsafe_b64encode(json.dumps(raw).encode()).decode().rstrip("=") + "." + mac
    with pytest.raises(CursorError, match="not valid"):
        safe_sql.run(dbt_settings, cursor=edited)
    with pytest.raises(CursorError, match="not valid"):
        safe_sql.run(dbt_settings, cursor=first.next_cursor[:-3])
    # a well-formed cursor carrying hostile SQL is checked again, and refused
    stamp = safe_sql._warehouse_stamp(dbt_settings, current_snapshot(dbt_settings))
    forged = safe_sql._encode_cursor("select * from raw_stripe.charges", 0, stamp)
    with pytest.raises(SqlRefused, match="raw_stripe"):
        safe_sql.run(dbt_settings, cursor=forged)
    # a cursor from before a warehouse rebuild
    stale = safe_sql._encode_cursor(first.sql, 5, "0:0")
    with pytest.raises(CursorError, match="rebuilt"):
        safe_sql.run(dbt_settings, cursor=stale)


def test_what_runs_is_the_regenerated_query(dbt_settings: Settings) -> None:
    page = safe_sql.run(
        dbt_settings, "select count(*) as n /* ; drop table x */ from marts.dim_plans -- bye"
    )
    assert "drop" not in page.executed_sql.lower() and "--" not in page.executed_sql
    assert page.executed_sql.startswith(page.sql) and "LIMIT 101 OFFSET 0" in page.executed_sql


def test_bigquery_dialect_guard() -> None:
    ok = safe_sql.check("select * from `proj.marts.fct_invoices` join analytics.insights on true",
                        dialect="bigquery", catalog="proj")  # fmt: skip
    assert ok.tables == ("marts.fct_invoices", "analytics.insights")
    for sql, fragment in [
        ("select * from `region-us`.INFORMATION_SCHEMA.JOBS", "region-us"),
        ("select * from other_project.marts.fct_invoices", "another database"),
        ("select * from EXTERNAL_QUERY('conn', 'select 1')", "external_query"),
        ("select * from marts.x; select 1", "exactly one"),
        ("export data options(uri='gs://b/*') as select * from marts.fct_invoices", "Refused"),
        ("select * from Marts.fct_invoices", "schema 'Marts'"),
    ]:
        with pytest.raises(SqlRefused, match=fragment):
            safe_sql.check(sql, dialect="bigquery", catalog="proj")


def test_guard_overhead_is_small() -> None:
    queries = [
        "select segment, count(*) from marts.dim_customers group by 1 order by 2 desc",
        (
            "with a as (select * from marts.fct_mrr_daily where date_day > date '2026-01-01') "
            "select a.customer_id, sum(a.mrr) from a join marts.dim_customers c using (customer_id) group by 1"
        ),
        "select * from analytics.insights order by rank limit 10",
    ]
    timings = []
    for _ in range(20):
        for q in queries:
            started = time.perf_counter()
            safe_sql.check(q)
            timings.append((time.perf_counter() - started) * 1000)
    assert statistics.median(timings) < 25, timings


def test_the_warehouse_is_unchanged(dbt_settings: Settings, before: dict[str, Any]) -> None:
    """Runs after the corpus (file order): same bytes, mtime, tables and row counts."""
    assert _fingerprint(dbt_settings) == before
