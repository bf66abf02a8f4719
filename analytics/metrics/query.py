"""`query()` and `list_metrics()`: governed metrics, compiled by the semantic layer, run on the
warehouse, returned as polars with the SQL and the freshness of the data behind them."""

from __future__ import annotations

import datetime as dt
import difflib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from metricflow_semantics.errors.error_classes import InvalidQueryException

from analytics.settings import Settings, get_settings
from analytics.warehouse import (
    Freshness,
    pinned_snapshot,
    run_query_with_freshness,
    semantic_manifest_path,
)

from .semantic_layer import MetricDefinition, SemanticLayer

FilterValue = str | int | float | bool | dt.date
MAX_LIMIT = 100_000


class MetricQueryError(ValueError):
    """A request the metric layer cannot answer; the message says what to change."""


class UnknownNameError(MetricQueryError):
    def __init__(self, kind: str, name: str, valid: Sequence[str]) -> None:
        close = difflib.get_close_matches(name, valid, n=5, cutoff=0.4) or sorted(valid)[:10]
        self.kind, self.name, self.suggestions = kind, name, close
        super().__init__(f"unknown {kind} {name!r}; closest valid names: {', '.join(close)}")


@dataclass(frozen=True)
class MetricInfo:
    name: str
    label: str
    description: str
    type: str
    dimensions: tuple[str, ...]
    grains: tuple[str, ...]


@dataclass(frozen=True)
class MetricResult:
    data: pl.DataFrame  # period, one column per dimension, one column per metric
    sql: str
    freshness: Freshness
    metrics: tuple[MetricDefinition, ...]
    grain: str
    dimensions: tuple[str, ...]


_lock = threading.Lock()
_layers: dict[tuple[str, str], SemanticLayer] = {}


def semantic_layer(settings: Settings | None = None) -> SemanticLayer:
    """The semantic layer for the current manifest (reloaded when dbt rewrites it): the published
    snapshot's copy when serving one, so definitions always match the data they run on."""
    settings = settings or get_settings()
    path = semantic_manifest_path(settings)
    key = (str(path.resolve()), settings.warehouse_kind)
    with _lock:
        layer = _layers.get(key)
        if layer is None or not path.exists() or path.stat().st_mtime != layer.mtime:
            layer = SemanticLayer(path, dialect=settings.warehouse_kind)
            _layers[key] = layer
            for gone in [k for k in _layers if not Path(k[0]).exists()]:  # pruned snapshots
                del _layers[gone]
        return layer


def list_metrics(settings: Settings | None = None) -> list[MetricInfo]:
    """Every governed metric: name, label, description, dimensions and time grains."""
    layer = semantic_layer(settings)
    return [
        MetricInfo(m.name, m.label, m.description, m.type, m.dimensions, m.grains)
        for m in sorted(layer.metrics.values(), key=lambda m: m.name)
    ]


def _resolve_dimension(name: str, valid: Sequence[str]) -> str:
    """Accept a qualified name (customer__segment) or an unambiguous short one (segment)."""
    if name in valid:
        return name
    matches = [v for v in valid if v.split("__")[-1] == name]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise MetricQueryError(f"dimension {name!r} is ambiguous: use one of {', '.join(matches)}")
    raise UnknownNameError("dimension", name, valid)


def _literal(value: FilterValue) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, dt.date):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        # bound as a literal: quotes doubled; characters that could end or escape one refused
        if any(ch in value for ch in ("\\", "\n", "\r", "\x00", ";")) or len(value) > 200:
            raise MetricQueryError(f"filter value {value!r} has characters that are not allowed")
        return "'" + value.replace("'", "''") + "'"
    raise MetricQueryError(f"filter value {value!r} must be a string, number, boolean or date")


def _where(filters: Mapping[str, FilterValue | Sequence[FilterValue]] | None, valid: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """MetricFlow where-constraints from allow-listed dimension names and bound literal values."""
    clauses, used = [], {}
    for name, value in (filters or {}).items():
        dim = _resolve_dimension(name, valid)
        used[name] = dim
        ref = "{{ Dimension('" + dim + "') }}"
        if isinstance(value, list | tuple | set | frozenset):
            if not value:
                raise MetricQueryError(f"filter on {name!r} has an empty list of values")
            clauses.append(f"{ref} IN ({', '.join(_literal(v) for v in value)})")
        else:
            clauses.append(f"{ref} = {_literal(value)}")  # type: ignore[arg-type]
    return clauses, used


def query(
    metric: str | Sequence[str],
    grain: str = "month",
    dimensions: Sequence[str] = (),
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    filters: Mapping[str, FilterValue | Sequence[FilterValue]] | None = None,
    order: Sequence[str] = (),
    limit: int | None = None,
    settings: Settings | None = None,
) -> MetricResult:
    """Query one or more governed metrics by time grain, dimensions, time range and filters.

    `order` takes output column names (`period`, a dimension, a metric), prefixed by `-` for
    descending. Returns `.data` (polars: `period`, one column per dimension, one per metric),
    `.sql` (what ran) and `.freshness` (when its sources were last loaded).
    """
    settings = settings or get_settings()
    with pinned_snapshot(settings):  # definitions, data and freshness from one published snapshot
        return _query(settings, metric, grain, dimensions, start, end, filters, order, limit)


def _query(
    settings: Settings,
    metric: str | Sequence[str],
    grain: str,
    dimensions: Sequence[str],
    start: dt.date | str | None,
    end: dt.date | str | None,
    filters: Mapping[str, FilterValue | Sequence[FilterValue]] | None,
    order: Sequence[str],
    limit: int | None,
) -> MetricResult:
    layer = semantic_layer(settings)
    names = [metric] if isinstance(metric, str) else list(metric)
    if not names:
        raise MetricQueryError("ask for at least one metric; list_metrics() names them")
    defs = []
    for name in names:
        if name not in layer.metrics:
            raise UnknownNameError("metric", name, list(layer.metrics))
        defs.append(layer.metrics[name])
    if grain not in layer.GRAINS:
        raise UnknownNameError("grain", grain, list(layer.GRAINS))
    coarse = [d.name for d in defs if grain not in d.grains]
    if coarse:
        finest = {d.name: d.grains[0] for d in defs if grain not in d.grains}
        raise MetricQueryError(f"{', '.join(coarse)} cannot be queried by {grain}: finest grain "
                               f"{', '.join(f'{k} {v}' for k, v in finest.items())}; use that grain or coarser")  # fmt: skip
    common = sorted(set.intersection(*(set(d.dimensions) for d in defs)))
    dims = [_resolve_dimension(d, common) for d in dimensions]
    if len(set(dims)) != len(dims):
        raise MetricQueryError("a dimension is listed twice")
    start_d, end_d = _as_date(start, "start"), _as_date(end, "end")
    if start_d and end_d and start_d > end_d:
        raise MetricQueryError(f"start {start_d} is after end {end_d}: swap them")
    if limit is not None and not 1 <= limit <= MAX_LIMIT:
        raise MetricQueryError(f"limit must be between 1 and {MAX_LIMIT}")
    where, _ = _where(filters, common)
    out_names = {f"metric_time__{grain}": "period", **{d: a for d, a in zip(dims, dimensions, strict=True)}}
    order_by = []
    for o in order:
        desc, col = o.startswith("-"), o.lstrip("-")
        inverse = {v: k for k, v in out_names.items()}
        if col in names:
            target = col
        elif col in inverse:
            target = inverse[col]
        else:
            raise UnknownNameError("order column", col, ["period", *dimensions, *names])
        order_by.append(("-" if desc else "") + target)
    try:
        sql = layer.compile(names, grain, dims, start_d, end_d, where, order_by, limit)
    except InvalidQueryException as exc:  # e.g. a monthly metric asked for by day
        raise MetricQueryError(_first_issue(str(exc), names, grain)) from None
    data, fresh = run_query_with_freshness(settings, sql)
    data = data.rename({k: v for k, v in out_names.items() if k in data.columns})
    if "period" in data.columns and data.schema["period"] != pl.Date:
        data = data.with_columns(pl.col("period").cast(pl.Date))
    return MetricResult(data=data, sql=sql, freshness=fresh, metrics=tuple(defs), grain=grain,
                        dimensions=tuple(dimensions))  # fmt: skip


def _first_issue(message: str, names: Sequence[str], grain: str) -> str:
    """MetricFlow's multi-paragraph error, cut to its first message, with what to try."""
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    start = lines.index("Message:") + 1 if "Message:" in lines else 0
    detail = " ".join(lines[start:start + 3]).replace("Query Input:", "").strip() or message[:300]
    hint = " (this metric is defined at a coarser grain: try month)" if "granularity" in message.lower() else ""
    return f"the metric layer cannot answer {list(names)} by {grain}: {detail}{hint}"


def _as_date(value: dt.date | str | None, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise MetricQueryError(f"{what} {value!r} is not a date; use YYYY-MM-DD") from None
