"""The `serving` group: one asset that publishes the finished DuckDB warehouse to readers.

`warehouse_snapshot` depends on every other asset of the code location, so a job that selects it
runs it last, and only when everything upstream succeeded: a failed run publishes nothing and
readers keep the previous snapshot. `orchestration.definitions` adds it to `materialize_everything`
and to the analytics daily job. BigQuery needs no snapshots (no file lock; readers see committed
tables only), so prod has no such asset.
"""

from collections.abc import Iterable

import dagster as dg
from dagster import AssetExecutionContext

from analytics.settings import Settings

from .publish import publish_snapshot

GROUP = "serving"
SNAPSHOT = dg.AssetKey([GROUP, "warehouse_snapshot"])


def definitions(settings: Settings, upstream: Iterable[dg.AssetKey]) -> dg.Definitions:
    @dg.asset(key=SNAPSHOT, group_name=GROUP, deps=sorted(set(upstream), key=lambda k: k.path),
              kinds={"duckdb"},
              description="Publish the finished warehouse as a read-only snapshot (copy, then an atomic "
                          "pointer swap): the MCP server, notebooks and metric queries read the newest "
                          "snapshot and never see a half-built state or block the next build.")  # fmt: skip
    def warehouse_snapshot(context: AssetExecutionContext) -> dg.MaterializeResult:
        snap = publish_snapshot(settings, run_id=context.run.run_id)
        context.log.info(
            f"published snapshot {snap.id} ({snap.size_mb:.1f} MB in {snap.copy_seconds:.2f}s)"
        )
        return dg.MaterializeResult(metadata={
            "snapshot_id": dg.MetadataValue.text(snap.id),
            "path": dg.MetadataValue.path(str(snap.folder)),
            "size_mb": dg.MetadataValue.float(round(snap.size_mb, 2)),
            "copy_seconds": dg.MetadataValue.float(round(snap.copy_seconds, 3)),
            "previous_snapshot_id": dg.MetadataValue.text(snap.previous_id or ""),
            "pruned": dg.MetadataValue.text(", ".join(snap.pruned)),
        })  # fmt: skip

    return dg.Definitions(assets=[warehouse_snapshot])
