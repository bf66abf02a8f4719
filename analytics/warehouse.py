"""Read access to the warehouse: DuckDB (dev) or BigQuery (prod), results as polars.

Reads during writes (DuckDB). DuckDB allows one writer or many readers per file, and while any
process holds the file open, even read-only, `dbt build` fails with "Could not set lock". So
servers never read the file the pipeline writes (the *build* file, `warehouse.duckdb`). At the
end of a successful run the pipeline *publishes* it (`orchestration.serving`): CHECKPOINT, copy
to `snapshots/<id>/warehouse.duckdb` under a temporary folder name, add `manifest.json` (run id,
per-source load times, dbt build time) and dbt's `semantic_manifest.json` (so metric definitions
always match the data they run on), rename the folder into place, then swap the `CURRENT`
pointer atomically (write a temporary file, `os.replace`). The newest few snapshots are kept;
older ones are deleted (on POSIX a reader that still has one open keeps reading it).

Readers (`read_from="snapshot"`, the default: MCP server, notebooks, `analytics.metrics`) look
at the pointer before every query (one `stat`) and move to the newest snapshot between queries,
never during one: `pinned_snapshot()` holds one snapshot for a whole answer (manifest, SQL, data
and freshness). Each process keeps one cached read-only connection per snapshot, with external
access disabled and configuration locked, and gives every query its own `cursor()` (thread-safe,
interruptible on its own); a replaced snapshot's connection is closed as soon as no query uses
it. Opening the file costs ~25-50 ms; a cursor costs well under 1 ms. A reader therefore only
ever sees a finished, published warehouse and never holds the build file open.

Before the first publish (a fresh checkout mid-build) there is no snapshot: reads fall back to
opening the build file read-only per call and closing it again, as before. The pipeline's own
reads (analytics assets need the tables just built) use `read_from="build"`, which
`orchestration.definitions.build_definitions` sets. BigQuery has no file lock and readers see
committed tables only, so the BigQuery path is unchanged: no snapshots, `read_from` is ignored.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from analytics.settings import Settings

RAW_SOURCES = {"stripe": "raw_stripe", "supabase": "raw_supabase", "usage": "raw_usage"}

# layout of a published snapshot (written by orchestration.serving, read here)
POINTER_FILE = "CURRENT"  # JSON {"id": ...}, swapped atomically
SNAPSHOT_DB = "warehouse.duckdb"  # default; a snapshot keeps the build file's name
SNAPSHOT_MANIFEST = "manifest.json"
SNAPSHOT_SEMANTIC_MANIFEST = "semantic_manifest.json"
# one configuration for every connection to a snapshot: DuckDB refuses a second connection to the
# same file in one process with a different configuration, and untrusted SQL runs on it too
SNAPSHOT_CONFIG = {"enable_external_access": False, "lock_configuration": True}


class WarehouseUnavailable(RuntimeError):
    """The warehouse has not been built yet (or cannot be reached)."""


# ------------------------------------------------------------------------------------ freshness
@dataclass(frozen=True)
class Freshness:
    """When the data behind an answer was last refreshed."""

    checked_at: dt.datetime
    sources_loaded_at: dict[str, dt.datetime | None] = field(default_factory=dict)
    models_built_at: dt.datetime | None = None
    snapshot_id: str | None = None  # the published snapshot read (None: the build file, BigQuery)

    @property
    def oldest_source_at(self) -> dt.datetime | None:
        times = [t for t in self.sources_loaded_at.values() if t is not None]
        return min(times) if times else None

    def age_hours(self) -> float | None:
        oldest = self.oldest_source_at
        return None if oldest is None else (self.checked_at - oldest).total_seconds() / 3600

    def as_dict(self) -> dict[str, object]:
        iso = lambda t: t.isoformat() if t else None
        return {
            "checked_at": iso(self.checked_at),
            "sources_loaded_at": {k: iso(v) for k, v in self.sources_loaded_at.items()},
            "models_built_at": iso(self.models_built_at),
            "snapshot_id": self.snapshot_id,
        }


def _parse_time(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    return dt.datetime.fromisoformat(value)


# ------------------------------------------------------------------------------------ snapshots
class Snapshot:
    """One published snapshot, as this process reads it: its manifest and (opened lazily) one
    read-only connection shared by every query on it, each through its own cursor."""

    def __init__(self, folder: Path, manifest: dict[str, Any]) -> None:
        self.folder = folder
        self.id: str = manifest["id"]
        self.manifest = manifest
        self._con: duckdb.DuckDBPyConnection | None = None
        self._open_lock = threading.Lock()
        self.users = 0  # queries using it now (guarded by the module's _lock)
        self.retired = False  # a newer snapshot was adopted: close when unused

    @property
    def db_path(self) -> Path:
        # named like the build file: MetricFlow's SQL qualifies tables with the catalog, the stem
        return self.folder / self.manifest.get("database_file", SNAPSHOT_DB)

    @property
    def semantic_manifest_path(self) -> Path:
        return self.folder / SNAPSHOT_SEMANTIC_MANIFEST

    def freshness(self) -> Freshness:
        m = self.manifest
        return Freshness(
            checked_at=dt.datetime.now(dt.UTC),
            sources_loaded_at={k: _parse_time(v) for k, v in m.get("sources_loaded_at", {}).items()},
            models_built_at=_parse_time(m.get("models_built_at")),
            snapshot_id=self.id,
        )

    def connection(self) -> duckdb.DuckDBPyConnection:
        with self._open_lock:
            if self._con is None:
                self._con = duckdb.connect(str(self.db_path), read_only=True, config=SNAPSHOT_CONFIG)
            return self._con

    def close(self) -> None:
        with self._open_lock:
            if self._con is not None:
                self._con.close()
                self._con = None

    @property
    def is_open(self) -> bool:
        return self._con is not None


_lock = threading.Lock()
# snapshots folder -> (pointer file's stat signature, the snapshot it names)
_current: dict[Path, tuple[tuple[int, int, int], Snapshot]] = {}
# the snapshot pinned for the current answer: (snapshots folder, snapshot)
_pinned: contextvars.ContextVar[tuple[Path, Snapshot] | None] = contextvars.ContextVar(
    "psz_pinned_snapshot", default=None
)


def _serves_snapshots(settings: Settings) -> bool:
    return settings.warehouse_kind == "duckdb" and settings.read_from == "snapshot"


def read_pointer(snapshots_dir: Path) -> str | None:
    """The id of the newest published snapshot in `snapshots_dir`, or None."""
    try:
        return json.loads((snapshots_dir / POINTER_FILE).read_text())["id"]
    except FileNotFoundError:
        return None


def _retire(snap: Snapshot) -> None:
    """Called under _lock: close a replaced snapshot now if unused, else at its last release."""
    snap.retired = True
    if snap.users == 0:
        snap.close()


def _newest(settings: Settings) -> Snapshot | None:
    """The snapshot the pointer names now (cached while the pointer file is unchanged). Called
    under _lock."""
    folder = settings.snapshots_dir
    try:
        st = (folder / POINTER_FILE).stat()
    except FileNotFoundError:
        return None
    signature = (st.st_ino, st.st_mtime_ns, st.st_size)
    cached = _current.get(folder)
    if cached is not None and cached[0] == signature:
        return cached[1]
    snapshot_id = read_pointer(folder)
    if snapshot_id is None:
        return None
    if cached is not None and cached[1].id == snapshot_id:
        snap = cached[1]
    else:
        path = folder / snapshot_id
        try:
            snap = Snapshot(path, json.loads((path / SNAPSHOT_MANIFEST).read_text()))
        except FileNotFoundError:
            raise WarehouseUnavailable(
                f"{folder / POINTER_FILE} names snapshot {snapshot_id}, which is missing: publish again "
                "(materialize serving/warehouse_snapshot, or `psz demo`) or delete the pointer to read the "
                "build file"
            ) from None
        if cached is not None:
            _retire(cached[1])
    _current[folder] = (signature, snap)
    return snap


def _acquire(settings: Settings) -> Snapshot | None:
    """The snapshot to read for one query (the pinned one, else the newest), marked in use."""
    if not _serves_snapshots(settings):
        return None
    pinned = _pinned.get()
    with _lock:
        if pinned is not None and pinned[0] == settings.snapshots_dir:
            snap: Snapshot | None = pinned[1]
        else:
            snap = _newest(settings)
        if snap is not None:
            snap.users += 1
        return snap


def _release(snap: Snapshot) -> None:
    with _lock:
        snap.users -= 1
        if snap.retired and snap.users == 0:
            snap.close()


def current_snapshot(settings: Settings) -> Snapshot | None:
    """The snapshot reads would use now (the pinned one inside `pinned_snapshot`), or None when
    reads go to the build file (nothing published yet, `read_from="build"`, BigQuery)."""
    snap = _acquire(settings)
    if snap is not None:
        _release(snap)
    return snap


@contextmanager
def pinned_snapshot(settings: Settings) -> Iterator[Snapshot | None]:
    """Every read inside the block (queries, freshness, the semantic manifest) uses one snapshot,
    even if a newer one is published meanwhile: an answer never mixes two."""
    snap = _acquire(settings)
    if snap is None:
        yield None
        return
    token = _pinned.set((settings.snapshots_dir, snap))
    try:
        yield snap
    finally:
        _pinned.reset(token)
        _release(snap)


def semantic_manifest_path(settings: Settings) -> Path:
    """dbt's semantic manifest for the data being read: the snapshot's copy when serving a
    published snapshot (definitions and data always match), else the dbt target's."""
    snap = current_snapshot(settings)
    if snap is not None and snap.semantic_manifest_path.exists():
        return snap.semantic_manifest_path
    return settings.dbt_target_dir / "semantic_manifest.json"


# -------------------------------------------------------------------------------- connections
def _connect(settings: Settings) -> duckdb.DuckDBPyConnection:
    """The build file, read-only (closed by the caller as soon as the query is done)."""
    path = settings.warehouse_path
    if not path.exists():
        raise WarehouseUnavailable(f"{path} does not exist yet: run `psz demo` (or materialize the assets) first")
    return duckdb.connect(str(path), read_only=True)


@contextmanager
def _reader(settings: Settings) -> Iterator[tuple[duckdb.DuckDBPyConnection, Snapshot | None]]:
    """A connection for one trusted query: a cursor on the snapshot's cached connection, or the
    build file opened for this call only."""
    snap = _acquire(settings)
    if snap is None:
        with _connect(settings) as con:
            yield con, None
        return
    try:
        cursor = snap.connection().cursor()
        try:
            yield cursor, snap
        finally:
            cursor.close()
    finally:
        _release(snap)


@contextmanager
def read_only_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A DuckDB connection for one caller-supplied (untrusted) query: read-only, no access to
    files or the network (`enable_external_access = false`), configuration locked so SQL cannot
    undo either. The caller may `interrupt()` it from another thread (it is this query's own
    cursor: other queries are unaffected). Reads the current snapshot when one is published."""
    snap = _acquire(settings)
    if snap is not None:
        try:
            cursor = snap.connection().cursor()
            try:
                yield cursor
            finally:
                cursor.close()
        finally:
            _release(snap)
        return
    path = settings.warehouse_path
    if not path.exists():
        raise WarehouseUnavailable(f"{path} does not exist yet: run `psz demo` (or materialize the assets) first")
    con = duckdb.connect(str(path), read_only=True, config=SNAPSHOT_CONFIG)
    try:
        yield con
    finally:
        con.close()


def _duckdb_frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None) -> pl.DataFrame:
    frame = pl.from_arrow(con.sql(sql, params=params).to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    # DuckDB sums integers into DECIMAL(38,0); metrics are plain floats for every consumer
    return frame.with_columns(pl.col(pl.Decimal).cast(pl.Float64))


class _ResultCache:
    """Results of trusted queries on published snapshots. A snapshot never changes, so a result
    keyed by (snapshot id, SQL, parameters) stays correct for the snapshot's life: repeated
    questions (dashboards, an assistant re-asking) skip the warehouse. Bounded in entries and in
    rows per entry; a new snapshot simply stops matching the old keys, which age out."""

    MAX_ENTRIES = 256
    MAX_ROWS = 20_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, str, tuple[object, ...]], pl.DataFrame] = OrderedDict()

    def get(self, key: tuple[str, str, tuple[object, ...]]) -> pl.DataFrame | None:
        with self._lock:
            frame = self._items.get(key)
            if frame is not None:
                self._items.move_to_end(key)
            return frame

    def put(self, key: tuple[str, str, tuple[object, ...]], frame: pl.DataFrame) -> None:
        if frame.height > self.MAX_ROWS:
            return
        with self._lock:
            self._items[key] = frame
            self._items.move_to_end(key)
            while len(self._items) > self.MAX_ENTRIES:
                self._items.popitem(last=False)


_results = _ResultCache()


def _cached_frame(con: duckdb.DuckDBPyConnection, snap: Snapshot | None, sql: str,
                  params: list[object] | None) -> pl.DataFrame:  # fmt: skip
    if snap is None:  # the build file changes under us: never cached
        return _duckdb_frame(con, sql, params)
    key = (snap.id, sql, tuple(params or ()))
    frame = _results.get(key)
    if frame is None:
        frame = _duckdb_frame(con, sql, params)
        _results.put(key, frame)
    return frame


def run_query(settings: Settings, sql: str, params: list[object] | None = None) -> pl.DataFrame:
    """Execute one read-only query and return its rows."""
    if settings.warehouse_kind == "bigquery":
        return _bigquery(settings, sql, params)
    with _reader(settings) as (con, snap):
        return _cached_frame(con, snap, sql, params)


def run_query_with_freshness(
    settings: Settings, sql: str, params: list[object] | None = None
) -> tuple[pl.DataFrame, Freshness]:
    """The rows and the freshness of the data behind them, from the same snapshot (its manifest),
    or from the build file through one connection when nothing is published."""
    if settings.warehouse_kind == "bigquery":
        return _bigquery(settings, sql, params), freshness(settings)
    with _reader(settings) as (con, snap):
        frame = _cached_frame(con, snap, sql, params)
        return frame, snap.freshness() if snap is not None else _freshness(settings, con)


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


def freshness(settings: Settings) -> Freshness:
    """Last successful load per source (dlt's `_dlt_loads`) and the last dbt build: of the
    snapshot being read (from its manifest), else of the build file."""
    snap = current_snapshot(settings)
    if snap is not None:
        return snap.freshness()
    if settings.warehouse_kind == "duckdb" and settings.warehouse_path.exists():
        with _connect(settings) as con:
            return _freshness(settings, con)
    return _freshness(settings, None)


def build_freshness(settings: Settings, con: duckdb.DuckDBPyConnection) -> Freshness:
    """Freshness of the build file through an open connection (the publisher records it)."""
    return _freshness(settings, con)


def _freshness(settings: Settings, con: duckdb.DuckDBPyConnection | None) -> Freshness:
    now = dt.datetime.now(dt.UTC)
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
            built = dt.datetime.fromisoformat(generated)
    return Freshness(checked_at=now, sources_loaded_at=loaded, models_built_at=built)


def snapshot_ids(settings: Settings) -> list[str]:
    """Published snapshots on disk, oldest first (ids sort by publication time)."""
    folder = settings.snapshots_dir
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

