"""`Report`: rows plus the provenance of every number in them."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from analytics.settings import Settings
from analytics.warehouse import Freshness, run_query_with_freshness


class ReportError(ValueError):
    """A report was asked for something that does not exist (an unknown id, an empty range)."""


@dataclass(frozen=True)
class Report:
    """The rows of one report and where they came from."""

    data: pl.DataFrame
    sql: str
    tables: tuple[str, ...]
    freshness: Freshness

    def rows(self) -> list[dict[str, object]]:
        return self.data.to_dicts()


def fetch(settings: Settings, sql: str, tables: tuple[str, ...], params: list[object] | None = None) -> Report:
    """Run one read-only statement (`?` placeholders bound from `params`) with its freshness."""
    data, fresh = run_query_with_freshness(settings, sql, params)
    return Report(data=data, sql=sql.strip(), tables=tables, freshness=fresh)
