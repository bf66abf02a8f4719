"""The warehouse's public tables (marts and the analytics dataset): columns, types and the dbt
descriptions, for an assistant that writes SQL or needs to know what a column means."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from analytics.settings import Settings

from .base import Report, ReportError, fetch

PUBLIC_SCHEMAS = ("marts", "analytics")


@dataclass(frozen=True)
class TableDoc:
    description: str
    columns: dict[str, str]  # column -> description


def tables(settings: Settings) -> Report:
    """Every public table with its column count (one row per schema.table)."""
    return fetch(settings, f"""
        select table_schema as schema, table_name as "table", count(*) as columns
        from information_schema.columns
        where table_schema in ({", ".join(f"'{s}'" for s in PUBLIC_SCHEMAS)}) and table_name not like '\\_dlt%' escape '\\'
        group by 1, 2 order by 1, 2""", ("information_schema.columns",))  # fmt: skip


def table_columns(settings: Settings, qualified: str) -> Report:
    """Columns and types of one public table (`schema.table`)."""
    schema, _, name = qualified.partition(".")
    known = [f"{r['schema']}.{r['table']}" for r in tables(settings).rows()]
    if qualified not in known:
        import difflib

        close = difflib.get_close_matches(qualified, known, n=5, cutoff=0.5) or known[:10]
        raise ReportError(f"unknown table {qualified!r}; public tables are in schemas "
                          f"{', '.join(PUBLIC_SCHEMAS)}; closest: {', '.join(close)}")  # fmt: skip
    return fetch(settings, """
        select column_name as column, data_type as type
        from information_schema.columns where table_schema = ? and table_name = ?
        order by ordinal_position""", ("information_schema.columns",), [schema, name])  # fmt: skip


def dbt_docs(settings: Settings) -> dict[str, TableDoc]:
    """`schema.table` -> dbt model description and column descriptions (from manifest.json)."""
    path: Path = settings.dbt_target_dir / "manifest.json"
    if not path.exists():
        return {}
    manifest = json.loads(path.read_text())
    out: dict[str, TableDoc] = {}
    for node in manifest.get("nodes", {}).values():
        if node.get("resource_type") != "model":
            continue
        key = f"{node.get('schema')}.{node.get('alias') or node.get('name')}"
        cols = {c: (v.get("description") or "") for c, v in node.get("columns", {}).items()}
        out[key] = TableDoc(description=(node.get("description") or "").strip(), columns=cols)
    return out
