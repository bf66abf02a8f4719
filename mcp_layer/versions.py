"""Installed versions of the packages that shape an answer (for health checks)."""

from __future__ import annotations

import importlib.metadata

PACKAGES = ("psz-platform", "mcp", "duckdb", "dbt-core", "metricflow", "polars")


def versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape an answer."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    return out
