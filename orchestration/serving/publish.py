"""Publish the DuckDB build file as a read-only snapshot for readers (see `analytics.warehouse`).

    snapshots/
      CURRENT                      {"id": "<id>"}: the newest snapshot, swapped with os.replace
      <id>/warehouse.duckdb        a copy of the build file after CHECKPOINT, under the same name
                                   (MetricFlow's SQL names the catalog: the file's stem)
      <id>/manifest.json           id, published_at, run_id, sources_loaded_at, models_built_at, ...
      <id>/semantic_manifest.json  dbt's semantic manifest of the build the data came from

Ids sort by publication time. A snapshot is assembled in a hidden `.<id>.tmp` folder and renamed
into place before the pointer names it, so a reader never finds a half-written one. The build
file is held open read-write (DuckDB's exclusive lock) from the CHECKPOINT until the copy is done:
no other writer can change it under the copy. The newest `settings.snapshots_keep` snapshots are
kept; older ones are deleted (on POSIX a process still reading one keeps its open file).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from analytics.settings import Settings
from analytics.warehouse import (
    POINTER_FILE,
    SNAPSHOT_MANIFEST,
    SNAPSHOT_SEMANTIC_MANIFEST,
    WarehouseUnavailable,
    build_freshness,
    read_pointer,
    snapshot_ids,
)

STALE_TEMP_SECONDS = 3600  # a temporary folder this old was left by a crashed publish


@dataclass(frozen=True)
class PublishedSnapshot:
    id: str
    folder: Path
    size_bytes: int
    copy_seconds: float
    previous_id: str | None
    pruned: tuple[str, ...]
    manifest: dict[str, object]

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6


def _semantic_manifest(settings: Settings) -> Path | None:
    """The semantic manifest of the newest dbt build (dagster-dbt writes one folder per run under
    the target path), else the one of the last `dbt parse`."""
    target = settings.dbt_target_dir
    runs = sorted(target.glob("runs/*/semantic_manifest.json"), key=lambda p: p.stat().st_mtime)
    if runs:
        return runs[-1]
    path = target / "semantic_manifest.json"
    return path if path.exists() else None


def _write_json(path: Path, data: object) -> None:
    with open(path, "w") as f:
        json.dump(data, f, indent=2, default=str)
        f.flush()
        os.fsync(f.fileno())


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_snapshot(settings: Settings, run_id: str | None = None) -> PublishedSnapshot:
    """Copy the build file into a new snapshot, point readers at it, prune old snapshots."""
    if settings.warehouse_kind != "duckdb":
        raise ValueError("snapshots are for the DuckDB warehouse; BigQuery readers need none")
    build = settings.warehouse_path
    if not build.exists():
        raise WarehouseUnavailable(f"{build} does not exist: nothing to publish")
    root = settings.snapshots_dir
    root.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC)
    snapshot_id = now.strftime("%Y%m%dT%H%M%S%fZ") + (f"-{run_id[:8]}" if run_id else "")
    temp = root / f".{snapshot_id}.tmp"
    temp.mkdir()
    try:
        started = time.perf_counter()
        with duckdb.connect(str(build)) as con:  # exclusive lock until the copy is complete
            con.execute("CHECKPOINT")
            fresh = build_freshness(settings, con)
            shutil.copyfile(build, temp / build.name)
        _fsync(temp / build.name)
        copy_seconds = time.perf_counter() - started
        semantic = _semantic_manifest(settings)
        if semantic is not None:
            shutil.copyfile(semantic, temp / SNAPSHOT_SEMANTIC_MANIFEST)
        size = (temp / build.name).stat().st_size
        manifest: dict[str, object] = {
            "id": snapshot_id,
            "published_at": now.isoformat(),
            "run_id": run_id,
            "build_file": str(build.resolve()),
            "database_file": build.name,  # same name: MetricFlow SQL qualifies tables with it
            "size_bytes": size,
            "copy_seconds": round(copy_seconds, 3),
            "sources_loaded_at": {
                k: v.isoformat() if v else None for k, v in fresh.sources_loaded_at.items()
            },
            "models_built_at": fresh.models_built_at.isoformat() if fresh.models_built_at else None,
            "semantic_manifest": str(semantic) if semantic else None,
        }
        _write_json(temp / SNAPSHOT_MANIFEST, manifest)
        final = root / snapshot_id
        os.rename(temp, final)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    previous = read_pointer(root)
    pointer_temp = root / f".{POINTER_FILE}.{os.getpid()}.tmp"
    _write_json(pointer_temp, {"id": snapshot_id, "published_at": now.isoformat()})
    os.replace(pointer_temp, root / POINTER_FILE)  # the atomic switch readers see
    pruned = prune_snapshots(settings, keep=settings.snapshots_keep)
    return PublishedSnapshot(
        snapshot_id, final, size, copy_seconds, previous, tuple(pruned), manifest
    )


def prune_snapshots(settings: Settings, keep: int) -> list[str]:
    """Delete all but the newest `keep` snapshots (never the current one) and temporary folders
    of crashed publishes; returns the ids deleted."""
    root = settings.snapshots_dir
    current = read_pointer(root)
    ids = snapshot_ids(settings)
    doomed = [i for i in ids[: max(len(ids) - keep, 0)] if i != current]
    for snapshot_id in doomed:
        shutil.rmtree(root / snapshot_id, ignore_errors=True)
    for temp in root.glob(".*.tmp"):
        try:
            if time.time() - temp.stat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(temp, ignore_errors=True) if temp.is_dir() else temp.unlink()
        except FileNotFoundError:
            pass
    return doomed
