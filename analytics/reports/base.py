"""`Report`: rows plus the provenance of every number in them."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from analytics.settings import Settings
from analytics.warehouse import Freshness, run_query_with_freshness


def closest(value: str, valid: Sequence[str], n: int = 5, fallback: int | None = None) -> list[str]:
    """The valid values closest to `value` for an error message, or the first `fallback` (default
    `n`) valid values when nothing is close."""
    return difflib.get_close_matches(value, list(valid), n=n, cutoff=0.3) or sorted(valid)[: fallback or n]


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
