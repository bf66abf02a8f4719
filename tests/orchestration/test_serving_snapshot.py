"""Published warehouse snapshots: the publisher's layout and pointer swap, pruning, readers moving
to the newest snapshot between queries (never during one), the build file never held by a reader,
and the fallback before anything is published. Small DuckDB files stand in for the warehouse."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from analytics import warehouse
from analytics.settings import Settings
from analytics.warehouse import (
    POINTER_FILE,
    SNAPSHOT_DB,
    SNAPSHOT_MANIFEST,
    SNAPSHOT_SEMANTIC_MANIFEST,
    WarehouseUnavailable,
    current_snapshot,
    freshness,
    pinned_snapshot,
    read_only_connection,
    read_pointer,
    run_query,
    run_query_with_freshness,
    semantic_manifest_path,
    snapshot_ids,
)
from orchestration import analytics, serving
from orchestration.definitions import MATERIALIZE_EVERYTHING, build_definitions
from orchestration.serving import publish_snapshot

VALUE = "select v from marts.t"


def _write_build(settings: Settings, v: int) -> None:
    """The 'pipeline': (re)write the build file, with a dlt-style load record and a dbt manifest."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        con.execute("create schema if not exists marts")
        con.execute(f"create or replace table marts.t as select {v} as v")
        con.execute("create schema if not exists raw_stripe")
        con.execute(
            "create table if not exists raw_stripe._dlt_loads (inserted_at timestamptz, status int)"
        )
        con.execute("insert into raw_stripe._dlt_loads values (now(), 0)")
    target = settings.dbt_target_dir
    target.mkdir(parents=True, exist_ok=True)
    (target / "semantic_manifest.json").write_text(json.dumps({"version": v}))


def _value(settings: Settings) -> int:
    return int(run_query(settings, VALUE).item())


def _lock_build_file(settings: Settings) -> subprocess.CompletedProcess[str]:
    """Another process takes DuckDB's write lock on the build file and writes (what `dbt build`
    and dlt do); returns the finished process (returncode 0: it got the lock)."""
    code = ("import duckdb, sys; c = duckdb.connect(sys.argv[1]); "
            "c.execute('create or replace table marts.lock_probe as select 1'); c.close()")  # fmt: skip
    return subprocess.run([sys.executable, "-c", code, str(settings.warehouse_path)],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    s = make_settings()
    _write_build(s, 1)
    return s


def test_publish_writes_a_complete_snapshot_and_swaps_the_pointer(settings: Settings) -> None:
    snap = publish_snapshot(settings, run_id="run-0001-abcdef")
    root = settings.snapshots_dir
    assert read_pointer(root) == snap.id and snap.previous_id is None
    assert {p.name for p in snap.folder.iterdir()} == {
        SNAPSHOT_DB,
        SNAPSHOT_MANIFEST,
        SNAPSHOT_SEMANTIC_MANIFEST,
    }
    assert not [p for p in root.iterdir() if p.name.startswith(".")], "temporary files left behind"
    manifest = json.loads((snap.folder / SNAPSHOT_MANIFEST).read_text())
    assert manifest["id"] == snap.id and manifest["run_id"] == "run-0001-abcdef"
    assert manifest["size_bytes"] == (snap.folder / SNAPSHOT_DB).stat().st_size > 0
    assert (
        manifest["sources_loaded_at"]["stripe"] and manifest["sources_loaded_at"]["usage"] is None
    )
    assert json.loads((snap.folder / SNAPSHOT_SEMANTIC_MANIFEST).read_text()) == {"version": 1}
    # readers read the snapshot, with its freshness and its semantic manifest
    frame, fresh = run_query_with_freshness(settings, VALUE)
    assert frame.item() == 1 and fresh.snapshot_id == snap.id
    assert fresh.sources_loaded_at["stripe"] is not None
    assert fresh.as_dict()["snapshot_id"] == snap.id == freshness(settings).snapshot_id
    assert semantic_manifest_path(settings) == snap.folder / SNAPSHOT_SEMANTIC_MANIFEST


def test_readers_move_to_the_newest_snapshot_between_queries_and_old_ones_are_pruned(
    settings: Settings,
) -> None:
    first = publish_snapshot(settings)
    assert _value(settings) == 1
    reader = current_snapshot(settings)
    assert reader is not None and reader.id == first.id and reader.is_open  # cached connection
    _write_build(settings, 2)
    assert _value(settings) == 1, "readers must not see the build file while it is rebuilt"
    with pinned_snapshot(settings) as pinned:  # one answer in flight across a publish
        second = publish_snapshot(settings)
        assert _value(settings) == 1 and pinned is not None and pinned.id == first.id
        assert reader.is_open, "a snapshot in use must stay open"
    assert second.previous_id == first.id
    assert _value(settings) == 2 and current_snapshot(settings).id == second.id  # type: ignore[union-attr]
    assert not reader.is_open, "the replaced snapshot's connection is closed once unused"
    assert semantic_manifest_path(settings) == second.folder / SNAPSHOT_SEMANTIC_MANIFEST

    published = [first.id, second.id]
    for v in (3, 4, 5):
        _write_build(settings, v)
        published.append(publish_snapshot(settings).id)
        assert _value(settings) == v
    assert published == sorted(published), "ids sort by publication time"
    assert snapshot_ids(settings) == published[-settings.snapshots_keep :]
    assert not (settings.snapshots_dir / first.id).exists()


def test_a_reader_keeps_its_open_snapshot_when_it_is_pruned(settings: Settings) -> None:
    publish_snapshot(settings)
    with pinned_snapshot(settings) as pinned, read_only_connection(settings) as con:
        assert pinned is not None
        for v in range(2, 2 + settings.snapshots_keep + 1):
            _write_build(settings, v)
            publish_snapshot(settings)
        assert not pinned.folder.exists()  # deleted under the reader
        assert con.execute(VALUE).fetchone() == (1,)  # POSIX: its open file still reads
    assert _value(settings) == 2 + settings.snapshots_keep


def test_a_writer_gets_the_build_file_lock_while_readers_are_mid_query(settings: Settings) -> None:
    publish_snapshot(settings)
    with read_only_connection(settings) as con:  # an untrusted query in flight on the snapshot
        assert con.execute(VALUE).fetchone() == (1,)
        assert _value(settings) == 1  # and trusted ones
        writer = _lock_build_file(settings)
        assert writer.returncode == 0, writer.stderr
    # the control: without a snapshot, a reader in flight holds the build file and blocks writers
    fallback = settings.model_copy(update={"read_from": "build"})
    with read_only_connection(fallback):
        blocked = _lock_build_file(settings)
    assert blocked.returncode != 0 and "lock" in blocked.stderr.lower()


def test_without_a_snapshot_reads_open_the_build_file_per_call_and_close_it(
    settings: Settings,
) -> None:
    assert current_snapshot(settings) is None
    frame, fresh = run_query_with_freshness(settings, VALUE)
    assert frame.item() == 1 and fresh.snapshot_id is None and fresh.sources_loaded_at["stripe"]
    assert semantic_manifest_path(settings) == settings.dbt_target_dir / "semantic_manifest.json"
    assert _lock_build_file(settings).returncode == 0, "the reader left the build file open"
    missing = settings.model_copy(update={"duckdb_path": settings.data_dir / "nothing.duckdb"})
    with pytest.raises(WarehouseUnavailable, match="psz demo"):
        run_query(missing, VALUE)


def test_a_pointer_to_a_missing_snapshot_says_how_to_fix_it(settings: Settings) -> None:
    publish_snapshot(settings)
    (settings.snapshots_dir / POINTER_FILE).write_text(json.dumps({"id": "20000101T000000000000Z"}))
    with pytest.raises(
        WarehouseUnavailable, match="20000101T000000000000Z, which is missing: publish again"
    ):
        run_query(settings, VALUE)


def test_the_pipeline_reads_the_build_file_even_when_a_snapshot_exists(settings: Settings) -> None:
    publish_snapshot(settings)
    _write_build(settings, 2)
    build = settings.model_copy(update={"read_from": "build"})
    assert _value(build) == 2 and _value(settings) == 1
    assert freshness(build).snapshot_id is None


def test_untrusted_sql_on_a_snapshot_is_locked_down_and_interruptible_alone(
    settings: Settings,
) -> None:
    publish_snapshot(settings)
    with read_only_connection(settings) as con:
        for sql, message in [
            ("create table marts.x as select 1", "read-only"),
            ("set enable_external_access = true", "locked"),
            (
                f"select * from read_csv('{settings.snapshots_dir / POINTER_FILE}')",
                "cannot access file",
            ),
        ]:
            with pytest.raises(duckdb.Error) as err:
                con.execute(sql).fetchall()
            assert message in str(err.value).lower(), (sql, str(err.value))
    outcome: dict[str, str] = {}

    def slow(con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.execute("select count(*) from range(1000000000) a, range(1000) b").fetchall()
            outcome["slow"] = "finished"
        except duckdb.InterruptException:
            outcome["slow"] = "interrupted"

    with read_only_connection(settings) as victim, read_only_connection(settings) as other:
        thread = threading.Thread(target=slow, args=(victim,))
        thread.start()
        time.sleep(0.3)
        victim.interrupt()
        thread.join(30)
        assert outcome == {"slow": "interrupted"}
        assert other.execute(VALUE).fetchone() == (1,)
    assert _value(settings) == 1


def test_both_jobs_end_by_publishing_and_the_asset_reports_the_snapshot(settings: Settings) -> None:
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    node = graph.get(serving.SNAPSHOT)
    assert node.group_name == serving.GROUP
    others = {k for k in graph.get_all_asset_keys() if k != serving.SNAPSHOT}
    assert node.parent_keys == others, "the snapshot must wait for every other asset"
    assert (
        analytics.key("insights") in others
        and dg.AssetKey(["marts", "fct_mrr_summary_monthly"]) in others
    )
    for job in (MATERIALIZE_EVERYTHING, analytics.JOB):
        assert serving.SNAPSHOT in defs.resolve_job_def(job).asset_layer.selected_asset_keys, job
    assert defs.resolve_schedule_def(analytics.SCHEDULE).job_name == analytics.JOB

    result = defs.resolve_job_def(MATERIALIZE_EVERYTHING).execute_in_process(
        asset_selection=[serving.SNAPSHOT], instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    [event] = result.get_asset_materialization_events()
    meta = {k: v.value for k, v in event.materialization.metadata.items()}
    assert meta["snapshot_id"] == read_pointer(settings.snapshots_dir)
    assert meta["size_mb"] > 0 and meta["copy_seconds"] >= 0
    assert _value(settings) == 1


def test_bigquery_reads_no_snapshot(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(env="prod", warehouse="bigquery", bigquery_project="p", sources="demo")
    _write_build(make_settings(), 1)
    publish_snapshot(make_settings())  # a DuckDB snapshot in the same data dir is ignored
    assert current_snapshot(settings) is None
    assert semantic_manifest_path(settings) == settings.dbt_target_dir / "semantic_manifest.json"
    with pytest.raises(ValueError, match="DuckDB"):
        publish_snapshot(settings)


def test_a_snapshot_keeps_the_build_file_name_that_sql_qualifies_tables_with(
    make_settings: Callable[..., Settings],
) -> None:
    settings = make_settings()
    settings = settings.model_copy(update={"duckdb_path": settings.data_dir / "lake.duckdb"})
    _write_build(settings, 7)
    snap = publish_snapshot(settings)
    assert (snap.folder / "lake.duckdb").exists() and not (snap.folder / SNAPSHOT_DB).exists()
    assert run_query(settings, "select v from lake.marts.t").item() == 7  # as MetricFlow writes it


def test_warehouse_module_state_is_per_snapshots_folder(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    one, two = make_settings(), make_settings(data_dir=tmp_path / "other")
    for s, v in ((one, 1), (two, 2)):
        _write_build(s, v)
        publish_snapshot(s)
    assert (_value(one), _value(two)) == (1, 2)
    with pinned_snapshot(one):  # a pin applies to its own folder only
        assert (_value(one), _value(two)) == (1, 2)
    assert set(warehouse._current) >= {one.snapshots_dir, two.snapshots_dir}
