"""`dimension_values()`: the values a metric dimension takes, read from the table that defines it.

The semantic manifest says which semantic model (table, column expression) a qualified dimension
such as `customer_month__segment` comes from; the values are that column's distinct values with a
row count, so an assistant can write filters that match. Read-only, bounded by `limit`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from analytics.settings import Settings, get_settings
from analytics.warehouse import Freshness, pinned_snapshot, run_query_with_freshness

from .query import MAX_LIMIT, MetricQueryError, UnknownNameError, _resolve_dimension, semantic_layer

DEFAULT_LIMIT = 100
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class DimensionValues:
    dimension: str  # qualified name
    table: str  # schema.table the values come from
    data: pl.DataFrame  # value, rows
    total: int  # distinct values in the table (data may hold fewer: see limit)
    sql: str
    freshness: Freshness


def all_dimensions(settings: Settings | None = None) -> list[str]:
    """Every qualified dimension of any governed metric (time dimensions excluded)."""
    layer = semantic_layer(settings)
    return sorted({d for m in layer.metrics.values() for d in m.dimensions})


def _source(settings: Settings, qualified: str) -> tuple[str, str]:
    """(schema.table, column expression) behind a qualified dimension name."""
    entity, _, name = qualified.rpartition("__")
    for model in semantic_layer(settings)._manifest.semantic_models:
        entities = {e.name for e in model.entities} | {model.primary_entity or ""}
        if entity not in entities:
            continue
        for dim in model.dimensions:
            if dim.name == name:
                expr = dim.expr or dim.name
                if not _IDENTIFIER.match(expr):  # computed expressions are not listed as values
                    raise MetricQueryError(f"dimension {qualified!r} is computed ({expr}); its values cannot be listed")
                rel = model.node_relation
                return f"{rel.schema_name}.{rel.alias}", expr
    raise MetricQueryError(f"dimension {qualified!r} has no source table in the semantic manifest")


def dimension_values(
    dimension: str,
    *,
    metric: str | None = None,
    search: str | None = None,
    limit: int = DEFAULT_LIMIT,
    settings: Settings | None = None,
) -> DimensionValues:
    """Distinct values of `dimension` (qualified, or an unambiguous short name like `segment`), most
    frequent first, optionally only those containing `search` (case-insensitive). With `metric`,
    the name is resolved among that metric's dimensions (so a short name is rarely ambiguous)."""
    settings = settings or get_settings()
    with pinned_snapshot(settings):  # the manifest and the values from one published snapshot
        return _dimension_values(settings, dimension, metric, search, limit)


def _dimension_values(settings: Settings, dimension: str, metric: str | None, search: str | None,
                      limit: int) -> DimensionValues:  # fmt: skip
    if not 1 <= limit <= MAX_LIMIT:
        raise MetricQueryError(f"limit must be between 1 and {MAX_LIMIT}")
    if metric is not None:
        metrics = semantic_layer(settings).metrics
        if metric not in metrics:
            raise UnknownNameError("metric", metric, list(metrics))
        valid = list(metrics[metric].dimensions)
    else:
        valid = all_dimensions(settings)
    if not valid:
        raise UnknownNameError("dimension", dimension, valid)
    qualified = _resolve_dimension(dimension, valid)
    table, column = _source(settings, qualified)
    where = f"where lower(cast({column} as varchar)) like ?" if search else ""
    params: list[object] = [f"%{search.lower()}%"] if search else []
    if settings.warehouse_kind == "bigquery":
        where = where.replace("varchar", "string")
    sql = (
        f"select cast({column} as varchar) as value, count(*) as rows, count(*) over () as total\n"
        f"from {table}\n{where}\ngroup by 1\norder by rows desc, value\nlimit {limit}"
    )
    if settings.warehouse_kind == "bigquery":
        sql = sql.replace("varchar", "string")
    data, fresh = run_query_with_freshness(settings, sql, params or None)
    total = int(data["total"][0]) if data.height else 0
    return DimensionValues(dimension=qualified, table=table, data=data.drop("total"), total=total, sql=sql,
                           freshness=fresh)  # fmt: skip
