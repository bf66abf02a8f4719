"""Serving: publish the finished DuckDB warehouse as read-only snapshots for readers (the MCP
server, notebooks), so they keep answering while Dagster rebuilds. See `analytics.warehouse`."""

from .definitions import GROUP, SNAPSHOT, definitions
from .publish import PublishedSnapshot, prune_snapshots, publish_snapshot

__all__ = [
    "GROUP",
    "SNAPSHOT",
    "PublishedSnapshot",
    "definitions",
    "prune_snapshots",
    "publish_snapshot",
]
