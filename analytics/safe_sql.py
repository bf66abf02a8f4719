"""Caller-written, read-only SQL over the curated `marts` and `analytics` schemas.

For the questions the governed metrics do not cover. Three layers, each enough on its own for the
common attacks:

1. The guard (`check`): sqlglot parses the text with the warehouse dialect and an allow-list
   decides. Exactly one statement; its root is a SELECT or a set operation (UNION, INTERSECT,
   EXCEPT), CTEs allowed; every table is `marts.<name>` or `analytics.<name>` (or a CTE in scope);
   no table functions except `range` / `generate_series` / `unnest`; no scalar function from a
   deny-list of side-effecting or introspective ones; no SELECT INTO, no parameters. DuckDB's own
   parser must agree that the text is one SELECT statement.
2. What runs is sqlglot's regeneration of the checked tree (comments dropped), never the
   caller's text, so a trick that fools one parser and not the other cannot reach the engine.
3. The engine: a read-only connection with external (file and network) access disabled and its
   configuration locked (`analytics.warehouse.read_only_connection`), interrupted by a timer at
   the time limit. On BigQuery: a job with a timeout and `maximum_bytes_billed`.

Results come one page at a time with an opaque cursor for the next page. The cursor carries the
checked SQL and the offset; it is checksummed (a garbled or edited cursor is refused) and its SQL
is checked again on every use, so it is never trusted.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import decimal
import hashlib
import hmac
import json
import math
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from analytics.settings import Settings
from analytics.warehouse import (
    Freshness,
    Snapshot,
    freshness,
    pinned_snapshot,
    read_only_connection,
)

ALLOWED_SCHEMAS = ("marts", "analytics")
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
DEFAULT_TIMEOUT_SECONDS = 10.0
MIN_TIMEOUT_SECONDS = 0.5
MAX_TIMEOUT_SECONDS = 60.0
MAX_SQL_CHARS = 20_000
# Result size bounds: a page never carries more than this much JSON text, nor a cell more than
# this many characters (both said in the page's notes when they apply).
MAX_PAGE_CHARS = 200_000
MAX_CELL_CHARS = 10_000
# BigQuery: refuse to run a query that would scan more than this.
BIGQUERY_MAX_BYTES_BILLED = 10 * 1024**3

# Table functions allowed in FROM: they generate rows and read nothing.
ALLOWED_TABLE_FUNCTIONS = (exp.GenerateSeries, exp.Unnest, exp.Explode)

# Scalar functions refused wherever they appear: they read the environment, files, settings,
# session state or the catalogue, change state, or only stall. Table functions are refused by
# position (FROM / LATERAL), these names are refused in any position.
DENIED_FUNCTIONS = frozenset({
    "getenv", "current_setting", "getvariable", "setvariable", "nextval", "currval", "setval",
    "setseed", "sleep_ms", "pg_sleep", "which_secret", "current_query", "read_text", "read_blob",
    "glob", "query", "query_table", "json_execute_serialized_sql", "sniff_csv", "checkpoint",
    "force_checkpoint", "enable_logging", "disable_logging", "enable_profiling", "disable_profiling",
    "truncate_duckdb_logs", "summary", "seq_scan", "arrow_scan", "pandas_scan", "python_map_function",
    "load_extension", "install_extension", "test_all_types", "test_vector_types", "repeat_row",
    # string amplifiers: one call builds a string of any length inside DuckDB, outside its memory
    # limit (a few rows of repeat('x', 1e9) would exhaust the server); the time limit cannot help
    "repeat", "lpad", "rpad", "pad", "space", "replicate",
    # BigQuery
    "external_query", "session_user", "gcs", "external_object_transform",
})  # fmt: skip
DENIED_FUNCTION_PREFIXES = (
    "duckdb_", "pragma_", "pg_get_", "__internal", "read_", "parquet_", "sqlite_", "postgres_",
    "mysql_", "iceberg_", "delta_", "excel_", "ducklake_", "json_execute", "register_external",
    "create_external", "destroy_external", "deregister_external", "icu_", "ml.", "vector_search",
)  # fmt: skip

# Statement kinds named in refusals (anything else is named by its sqlglot class).
_STATEMENT_NAMES: dict[type[exp.Expr], str] = {
    exp.Insert: "INSERT", exp.Update: "UPDATE", exp.Delete: "DELETE", exp.Merge: "MERGE",
    exp.Create: "CREATE", exp.Drop: "DROP", exp.Alter: "ALTER", exp.Attach: "ATTACH",
    exp.Detach: "DETACH", exp.Copy: "COPY", exp.Install: "INSTALL", exp.Pragma: "PRAGMA",
    exp.Set: "SET", exp.Use: "USE", exp.Transaction: "BEGIN TRANSACTION", exp.Commit: "COMMIT",
    exp.Rollback: "ROLLBACK", exp.Describe: "DESCRIBE", exp.Summarize: "SUMMARIZE", exp.Show: "SHOW",
    exp.Pivot: "PIVOT statement", exp.Into: "SELECT ... INTO", exp.TruncateTable: "TRUNCATE",
    exp.Cache: "CACHE", exp.Uncache: "UNCACHE", exp.LoadData: "LOAD DATA", exp.Analyze: "ANALYZE",
}  # fmt: skip
_FORBIDDEN_NODES = tuple(t for t in _STATEMENT_NAMES if t is not exp.Pivot) + (
    exp.Command,
    exp.Lock,
)

WHAT_IS_ALLOWED = (
    "Allowed: one SELECT (WITH/CTEs, joins, subqueries, window functions, UNION/INTERSECT/EXCEPT) "
    "reading schema-qualified tables marts.<table> or analytics.<table>."
)


class SafeSqlError(ValueError):
    """A caller's query or arguments could not be served; the message says why and what to do."""


class SqlRefused(SafeSqlError):
    """The guard (or the sandboxed engine) refused the query."""


class SqlTimeout(SafeSqlError):
    """The query ran past its time limit and was interrupted."""


class SqlFailed(SafeSqlError):
    """The warehouse could not run the (allowed) query: an unknown column, a type error, ..."""


class CursorError(SafeSqlError):
    """A paging cursor is garbled, edited, for another query or for data that has since changed."""


def _refuse(what: str) -> SqlRefused:
    return SqlRefused(f"Refused: {what}. {WHAT_IS_ALLOWED}")


# ---- the guard ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckedSql:
    """A query the guard allowed: its regenerated text (what runs), tables, and whether it orders."""

    sql: str
    tables: tuple[str, ...]
    ordered: bool
    limited: bool
    dialect: str


def dialect_of(settings: Settings) -> str:
    return "bigquery" if settings.warehouse_kind == "bigquery" else "duckdb"


def check(sql: str, *, dialect: str = "duckdb", catalog: str | None = None) -> CheckedSql:
    """Allow `sql` or raise `SqlRefused` saying what was refused and why. `catalog` is the one
    project (BigQuery) a three-part name may name; DuckDB allows no catalog at all."""
    if not isinstance(sql, str) or not sql.strip():
        raise _refuse("the query is empty")
    if len(sql) > MAX_SQL_CHARS:
        raise _refuse(f"the query is {len(sql):,} characters long; the limit is {MAX_SQL_CHARS:,}")
    if "\x00" in sql:
        raise _refuse("the query contains a NUL character")
    try:
        parsed = sqlglot.parse(sql, read=dialect)
    except (ParseError, TokenError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _refuse(f"the query could not be parsed as {dialect} SQL ({detail})") from None
    statements = [s for s in parsed if s is not None and not isinstance(s, exp.Semicolon)]
    if len(statements) != 1:
        kinds = ", ".join(_kind(s) for s in statements) or "none"
        raise _refuse(f"exactly one statement is allowed, found {len(statements)} ({kinds})")
    root = statements[0]
    while isinstance(root, exp.Subquery) and not root.alias:  # `(SELECT ...)`
        root = root.this
    if not isinstance(root, exp.Select | exp.SetOperation):
        if isinstance(root, (tuple(_STATEMENT_NAMES), exp.Command)):
            raise _refuse(f"{_kind(root)} statements are not allowed (read-only SELECT only)")
        raise _refuse(f"{root.sql(dialect=dialect)[:60]!r} is not a SELECT statement")

    tables: list[str] = []
    for node in root.walk():
        if isinstance(node, _FORBIDDEN_NODES):
            raise _refuse(f"{_kind(node)} is not allowed inside a query (read-only SELECT only)")
        if isinstance(node, exp.Placeholder | exp.Parameter):
            raise _refuse(
                "query parameters (?, $1, $name) are not supported: write the values inline"
            )
        if isinstance(node, exp.Table):
            name = _check_table(node, dialect=dialect, catalog=catalog)
            if name:
                tables.append(name)
        elif isinstance(node, exp.Lateral) and isinstance(node.this, exp.Func):
            _check_table_function(node.this)
        elif isinstance(node, exp.Func):
            _check_function(node)

    text = root.sql(dialect=dialect, comments=False)
    if dialect == "duckdb":  # the engine's own parser must agree: one SELECT, before and after
        for candidate, label in ((sql, "the query"), (text, "the regenerated query")):
            try:
                found = duckdb.extract_statements(candidate)
            except duckdb.Error as exc:
                raise _refuse(f"DuckDB cannot parse {label}: {_first_line(exc)}") from None
            if len(found) != 1 or found[0].type != duckdb.StatementType.SELECT:
                raise _refuse(f"DuckDB reads {label} as {len(found)} statement(s) "
                              f"({', '.join(s.type.name for s in found)}), not one SELECT")  # fmt: skip
    return CheckedSql(sql=text, tables=tuple(dict.fromkeys(tables)), ordered=bool(root.args.get("order")),
                      limited=any(root.args.get(k) for k in ("limit", "offset", "fetch")), dialect=dialect)  # fmt: skip


def _kind(node: exp.Expr) -> str:
    for cls, name in _STATEMENT_NAMES.items():
        if isinstance(node, cls):
            return name
    if isinstance(node, exp.Command):
        return str(node.this).upper()
    return type(node).__name__.upper()


def _check_table(table: exp.Table, *, dialect: str, catalog: str | None) -> str | None:
    """The `schema.table` a table reference reads, None for a CTE, or a refusal."""
    target = table.this
    if isinstance(target, exp.Func):
        _check_table_function(target)
        return None
    if not isinstance(target, exp.Identifier):
        raise _refuse(f"unsupported table reference {table.sql(dialect=dialect)!r}")
    name, schema, cat = table.name, table.db, table.catalog
    if not schema:
        if name.lower() in _visible_ctes(table):
            return None
        if any(c in name for c in "/\\:.*?") or target.quoted:
            raise _refuse(
                f"{name!r} reads a file or URL: reading files and the network is not allowed"
            )
        raise _refuse(f"table {name!r} is not schema-qualified and is not a CTE: write marts.{name} or "
                      f"analytics.{name}")  # fmt: skip
    if cat and not (dialect == "bigquery" and catalog and cat == catalog):
        raise _refuse(
            f"{cat}.{schema}.{name} names another database or catalog: use {schema}.{name}"
        )
    allowed = schema if dialect == "bigquery" else schema.lower()
    if allowed not in ALLOWED_SCHEMAS:
        raise _refuse(f"schema {schema!r} is not readable here (raw, staging, intermediate, "
                      "information_schema and the system catalogues are off limits)")  # fmt: skip
    return f"{allowed}.{name if dialect == 'bigquery' else name.lower()}"


def _visible_ctes(node: exp.Expr) -> set[str]:
    """CTE names a table reference at `node` can see: those of every enclosing WITH, and inside a
    CTE's own body only the CTEs defined before it (plus itself when the WITH is RECURSIVE)."""
    names: set[str] = set()
    child, parent = node, node.parent
    while parent is not None:
        if isinstance(parent, exp.With):
            ctes = list(parent.expressions)
            idx = next((i for i, c in enumerate(ctes) if c is child), len(ctes))
            upto = idx + 1 if parent.args.get("recursive") else idx
            names |= {c.alias_or_name.lower() for c in ctes[:upto]}
        elif isinstance(parent, exp.Query):
            with_ = parent.args.get("with_") or parent.args.get("with")
            if isinstance(with_, exp.With) and with_ is not child:
                names |= {c.alias_or_name.lower() for c in with_.expressions}
        child, parent = parent, parent.parent
    return names


def _function_names(func: exp.Func) -> list[str]:
    if isinstance(func, exp.Anonymous):
        return [str(func.name).lower()]
    return [n.lower() for n in type(func).sql_names()] or [type(func).__name__.lower()]


def _check_table_function(func: exp.Func) -> None:
    if isinstance(func, ALLOWED_TABLE_FUNCTIONS):
        return
    name = _function_names(func)[0]
    raise _refuse(f"table function {name}() is not allowed (it can read files, the network or the "
                  "catalogue); only range(), generate_series() and unnest() may appear in FROM")  # fmt: skip


def _check_function(func: exp.Func) -> None:
    if isinstance(func.parent, exp.Dot) and func.parent.expression is func:
        raise _refuse(f"schema-qualified function call {func.parent.sql()!r} is not allowed")
    for name in _function_names(func):
        if name in DENIED_FUNCTIONS or name.startswith(DENIED_FUNCTION_PREFIXES):
            raise _refuse(f"function {name}() is not allowed (it reads files, settings, the environment "
                          "or the catalogue, changes state, or can build unbounded strings)")  # fmt: skip


# ---- cursors -----------------------------------------------------------------------------------

# The cursor's checksum key. Not a secret: a cursor carries nothing the caller could not send as
# SQL, and its SQL is checked again on use. The checksum only turns a garbled or hand-edited cursor
# into a clear error, and keeps cursors valid across server restarts and processes.
_CURSOR_KEY = b"psz-safe-sql-cursor-v1"
_CURSOR_VERSION = 1


def _encode_cursor(sql: str, offset: int, stamp: str | None) -> str:
    payload = json.dumps({"v": _CURSOR_VERSION, "sql": sql, "offset": offset, "stamp": stamp},
                         separators=(",", ":")).encode()  # fmt: skip
    mac = hmac.new(_CURSOR_KEY, payload, hashlib.sha256).digest()[:12]
    b64 = lambda b: base64.urlsafe_b64encode(b).decode().rstrip("=")
    return f"{b64(payload)}.{b64(mac)}"


def _decode_cursor(token: str) -> tuple[str, int, str | None]:
    bad = CursorError("the cursor is not valid (garbled, truncated or edited): pass next_cursor exactly as "
                      "returned, or run the query again without a cursor")  # fmt: skip
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 4 * MAX_SQL_CHARS:
        raise bad
    try:
        raw, mac = (base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)) for p in token.split("."))
        want = hmac.new(_CURSOR_KEY, raw, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(mac, want):
            raise bad
        data = json.loads(raw)
    except (ValueError, TypeError):
        raise bad from None
    if not isinstance(data, dict) or data.get("v") != _CURSOR_VERSION:
        raise bad
    sql, offset, stamp = data.get("sql"), data.get("offset"), data.get("stamp")
    if (
        not isinstance(sql, str)
        or not isinstance(offset, int)
        or offset < 0
        or not isinstance(stamp, str | None)
    ):
        raise bad
    return sql, offset, stamp


def _warehouse_stamp(settings: Settings, snapshot: Snapshot | None) -> str | None:
    """Identifies the warehouse contents being read (the published snapshot's id, else the build
    file's size and mtime), so a cursor from before a rebuild is refused rather than paging over
    changed data. None on BigQuery."""
    if settings.warehouse_kind != "duckdb":
        return None
    if snapshot is not None:
        return f"snapshot:{snapshot.id}"
    try:
        st = settings.warehouse_path.stat()
    except OSError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


# ---- execution ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    name: str
    type: str


@dataclass(frozen=True)
class SqlPage:
    """One page of a query's rows and where they came from."""

    columns: list[Column]
    rows: list[list[Any]]  # JSON-ready cells, in column order
    sql: str  # the checked query (regenerated by the guard)
    executed_sql: str  # what ran: the checked query with this page's LIMIT/OFFSET
    tables: tuple[str, ...]
    offset: int  # 0-based index of the first row of this page
    has_more: bool
    next_cursor: str | None
    total_rows: int | None  # known once the last page is reached
    ordered: bool
    notes: list[str]
    freshness: Freshness
    guard_ms: float
    query_ms: float
    extra: dict[str, Any] = field(default_factory=dict)


def run(settings: Settings, sql: str | None = None, *, page_size: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> SqlPage:  # fmt: skip
    """Check `sql` (or the query of `cursor`) and return one page of its rows.

    The first call passes `sql`; each later call passes the previous page's `next_cursor` (and may
    pass the same `sql` again). Raises `SafeSqlError` subclasses with actionable messages."""
    if (
        isinstance(page_size, bool)
        or not isinstance(page_size, int)
        or not 1 <= page_size <= MAX_PAGE_SIZE
    ):
        raise SafeSqlError(
            f"page_size must be an integer from 1 to {MAX_PAGE_SIZE}, got {page_size!r}"
        )
    if (
        isinstance(timeout_seconds, bool)
        or not isinstance(timeout_seconds, int | float)
        or not (MIN_TIMEOUT_SECONDS <= timeout_seconds <= MAX_TIMEOUT_SECONDS)
    ):
        raise SafeSqlError(f"timeout_seconds must be from {MIN_TIMEOUT_SECONDS:g} to {MAX_TIMEOUT_SECONDS:g}, "
                           f"got {timeout_seconds!r}")  # fmt: skip
    if cursor is None and sql is None:
        raise SafeSqlError("pass sql (a SELECT over marts.* / analytics.* tables), or cursor to continue "
                           "a previous query")  # fmt: skip
    dialect = dialect_of(settings)
    catalog = settings.bigquery_project if dialect == "bigquery" else None
    # one snapshot for the query, its freshness and its cursor (a publish in between changes none)
    with pinned_snapshot(settings) as snapshot:
        started = time.perf_counter()
        offset, stamp = 0, _warehouse_stamp(settings, snapshot)
        if cursor is not None:
            token_sql, offset, token_stamp = _decode_cursor(cursor)
            checked = check(token_sql, dialect=dialect, catalog=catalog)  # never trust the token
            if (
                sql is not None
                and sql.strip()
                and check(sql, dialect=dialect, catalog=catalog).sql != checked.sql
            ):
                raise CursorError("the cursor belongs to a different query: pass the same sql as the first "
                                  "page, or leave sql out when passing a cursor")  # fmt: skip
            if token_stamp != stamp:
                raise CursorError("the warehouse was rebuilt since the first page, so its pages would not "
                                  "line up: run the query again without a cursor")  # fmt: skip
        else:
            checked = check(str(sql), dialect=dialect, catalog=catalog)
        guard_ms = (time.perf_counter() - started) * 1000

        executed = _page_sql(checked, limit=page_size + 1, offset=offset)
        started = time.perf_counter()
        if dialect == "bigquery":
            names, types, raw_rows = _run_bigquery(settings, executed, timeout_seconds)
        else:
            names, types, raw_rows = _run_duckdb(settings, executed, timeout_seconds)
        query_ms = (time.perf_counter() - started) * 1000
        fresh = freshness(settings)

    notes: list[str] = []
    more = len(raw_rows) > page_size
    rows, truncated_cells, budget_cut = _bounded_rows(raw_rows[:page_size])
    if budget_cut:
        notes.append(f"page shortened to {len(rows)} rows to stay under {MAX_PAGE_CHARS:,} characters; "
                     "next_cursor continues from the next row")  # fmt: skip
        more = True
    if truncated_cells:
        shown = ", ".join(f"row {offset + r} column {names[c]!r}" for r, c in truncated_cells[:5])
        more_cells = f" and {len(truncated_cells) - 5} more" if len(truncated_cells) > 5 else ""
        notes.append(f"{len(truncated_cells)} cell(s) longer than {MAX_CELL_CHARS:,} characters were cut "
                     f"({shown}{more_cells}): select left(column, n) or a substring to see them")  # fmt: skip
    if not checked.ordered and (more or offset):
        notes.append("the query has no ORDER BY, so pages may overlap or skip rows: add ORDER BY to "
                     "page through it reliably")  # fmt: skip
    next_offset = offset + len(rows)
    return SqlPage(
        columns=[Column(n, t) for n, t in zip(names, types, strict=True)], rows=rows, sql=checked.sql,
        executed_sql=executed, tables=checked.tables, offset=offset, has_more=more,
        next_cursor=_encode_cursor(checked.sql, next_offset, stamp) if more else None,
        total_rows=None if more else next_offset, ordered=checked.ordered, notes=notes, freshness=fresh,
        guard_ms=guard_ms, query_ms=query_ms,
    )  # fmt: skip


def _page_sql(checked: CheckedSql, *, limit: int, offset: int) -> str:
    if checked.limited:  # the query has its own LIMIT/OFFSET: page over it as a subquery
        return (
            f"SELECT * FROM (\n{checked.sql}\n) AS _page\nLIMIT {int(limit)} OFFSET {int(offset)}"
        )
    return f"{checked.sql}\nLIMIT {int(limit)} OFFSET {int(offset)}"


def _run_duckdb(
    settings: Settings, sql: str, timeout: float
) -> tuple[list[str], list[str], list[tuple]]:
    with contextlib.ExitStack() as stack:
        try:
            con = stack.enter_context(read_only_connection(settings))
        # e.g. the file is being replaced, or is open in this process with another configuration
        except duckdb.Error as exc:
            raise SqlFailed(
                f"the warehouse could not be opened for the query, try again: {_message(exc)}"
            ) from None
        fired = threading.Event()

        def stop() -> None:
            fired.set()
            con.interrupt()

        timer = threading.Timer(timeout, stop)
        timer.daemon = True
        timer.start()
        try:
            result = con.execute(sql)
            description = result.description or []
            rows = result.fetchall()
        except duckdb.Error as exc:
            if fired.is_set() or isinstance(exc, duckdb.InterruptException):
                raise _timeout(timeout) from None
            if isinstance(exc, duckdb.PermissionException):
                raise _refuse(f"the sandboxed warehouse blocked it ({_first_line(exc)})") from None
            raise SqlFailed(f"the warehouse could not run the query: {_message(exc)}") from None
        finally:
            timer.cancel()
    return [d[0] for d in description], [str(d[1]) for d in description], rows


def _run_bigquery(
    settings: Settings, sql: str, timeout: float
) -> tuple[list[str], list[str], list[tuple]]:
    import concurrent.futures

    from google.api_core import exceptions as gexc
    from google.cloud import bigquery

    options = (
        {"api_endpoint": settings.bigquery_api_endpoint} if settings.bigquery_api_endpoint else None
    )
    client = bigquery.Client(project=settings.bigquery_project, location=settings.bigquery_location,
                             client_options=options)  # fmt: skip
    config = bigquery.QueryJobConfig(maximum_bytes_billed=BIGQUERY_MAX_BYTES_BILLED, use_legacy_sql=False,
                                     job_timeout_ms=int(timeout * 1000))  # fmt: skip
    job = None
    try:
        job = client.query(sql, job_config=config, timeout=timeout)
        result = job.result(timeout=timeout)
        rows = [tuple(r.values()) for r in result]
        schema = result.schema or []
    except (concurrent.futures.TimeoutError, gexc.DeadlineExceeded, TimeoutError):
        if job is not None:
            job.cancel()
        raise _timeout(timeout) from None
    except gexc.GoogleAPICallError as exc:
        raise SqlFailed(f"BigQuery could not run the query: {_message(exc)}") from None
    return [f.name for f in schema], [f.field_type for f in schema], rows


def _timeout(timeout: float) -> SqlTimeout:
    return SqlTimeout(f"the query was stopped at its time limit of {timeout:g} s: filter (e.g. on dates) or "
                      f"aggregate earlier, avoid cross joins, or raise timeout_seconds (max "
                      f"{MAX_TIMEOUT_SECONDS:g})")  # fmt: skip


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _message(exc: BaseException) -> str:
    """The engine's message without the echoed query (`LINE 1: ...`), bounded."""
    lines = [ln for ln in str(exc).strip().splitlines() if ln.strip()]
    kept = [ln for ln in lines if not ln.startswith("LINE ") and set(ln.strip()) != {"^"}]
    return " ".join(kept)[:600] or type(exc).__name__


# ---- JSON cells and result size -------------------------------------------------------------------


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, decimal.Decimal):
        return float(value) if value.is_finite() else str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): _cell(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_cell(v) for v in value]
    return str(value)


def _bounded_rows(raw: list[tuple]) -> tuple[list[list[Any]], list[tuple[int, int]], bool]:
    """JSON-ready rows within MAX_PAGE_CHARS (at least one row), long text cells cut to
    MAX_CELL_CHARS. Returns (rows, cut cells as (row, column), whether rows were held back)."""
    rows: list[list[Any]] = []
    cut: list[tuple[int, int]] = []
    used = 0
    for r, raw_row in enumerate(raw):
        row: list[Any] = []
        row_cut: list[tuple[int, int]] = []
        for c, value in enumerate(raw_row):
            value = _cell(value)
            if (
                not isinstance(value, str | int | float | bool | None)
                and len(json.dumps(value)) > MAX_CELL_CHARS
            ):
                value = json.dumps(value)
            if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                value = f"{value[:MAX_CELL_CHARS]}…[cut: {len(value) - MAX_CELL_CHARS:,} more characters]"
                row_cut.append((r, c))
            row.append(value)
        size = len(json.dumps(row, default=str))
        if rows and used + size > MAX_PAGE_CHARS:
            return rows, cut, True
        rows.append(row)
        cut.extend(row_cut)
        used += size
    return rows, cut, False
