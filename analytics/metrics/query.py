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
    run_query,
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
    # the last day of data (marts.dim_data_window); None when the warehouse has no data yet
    data_through: dt.date | None = None
    # start of the trailing period when it is incomplete (only with include_partial=True)
    partial_period: dt.date | None = None

    @property
    def complete(self) -> bool:
        """True when every period in `data` is complete on the last day of data."""
        return self.partial_period is None


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
    include_partial: bool = False,
) -> MetricResult:
    """Query one or more governed metrics by time grain, dimensions, time range and filters.

    `order` takes output column names (`period`, a dimension, a metric), prefixed by `-` for
    descending. Returns `.data` (polars: `period`, one column per dimension, one per metric),
    `.sql` (what ran), `.freshness` (when its sources were last loaded) and `.data_through` (the
    last day of data).

    Periods end at the last one complete on the last day of data: no partial trailing period, no
    period after the data (revenue already scheduled for next month), no row without a period.
    `include_partial=True` adds the current, incomplete period, counted up to the last day of
    data and named in `.partial_period`.
    """
    settings = settings or get_settings()
    with pinned_snapshot(settings):  # definitions, data and freshness from one published snapshot
        return _query(settings, metric, grain, dimensions, start, end, filters, order, limit, include_partial)


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
    include_partial: bool,
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
    through = data_through(settings)
    partial: dt.date | None = None
    if through is not None:
        last_complete = last_complete_day(through, grain)
        if include_partial and last_complete < through:
            partial = period_start(through, grain)
            cap = through
            # MetricFlow widens the time range to whole periods: a flow metric would also count
            # what is scheduled after the last day of data (recognition of revenue invoiced in
            # advance), so the partial period is cut at that day where the metrics have days
            if all("day" in d.grains for d in defs):
                where.append("{{ TimeDimension('metric_time', 'day') }} <= " + _literal(through))
        else:
            cap = last_complete
        end_d = min(end_d, cap) if end_d else cap
        if start_d and start_d > end_d:
            raise MetricQueryError(f"start {start_d} is after the last {'' if include_partial else 'complete '}"
                                   f"{grain} of data (data through {through}): ask for an earlier start")  # fmt: skip
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
    if "period" in data.columns:
        if data.schema["period"] != pl.Date:
            data = data.with_columns(pl.col("period").cast(pl.Date))
        # rows whose time is unknown (a measure's date is null, e.g. an open deal's close date)
        # belong to no period; periods past the cap come from metrics MetricFlow cannot bound
        data = data.filter(pl.col("period").is_not_null())
        if end_d is not None:
            data = data.filter(pl.col("period") <= period_start(end_d, grain))
    if partial is not None and (data.is_empty() or data["period"].max() != partial):
        partial = None
    return MetricResult(data=data, sql=sql, freshness=fresh, metrics=tuple(defs), grain=grain,
                        dimensions=tuple(dimensions), data_through=through, partial_period=partial)  # fmt: skip


def data_through(settings: Settings) -> dt.date | None:
    """The last day of data (`marts.dim_data_window`, one definition): the earliest of the
    sources' last days. None on a warehouse with no data."""
    frame = run_query(settings, "select data_through_date from marts.dim_data_window")
    if frame.is_empty() or frame[0, 0] is None:
        return None
    value = frame[0, 0]
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def period_start(day: dt.date, grain: str) -> dt.date:
    """The first day of the period at `grain` that contains `day` (weeks start on Monday, as
    the semantic layer's week grain does)."""
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    if grain == "quarter":
        return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if grain == "year":
        return dt.date(day.year, 1, 1)
    raise MetricQueryError(f"unknown grain {grain!r}")


def period_end(day: dt.date, grain: str) -> dt.date:
    """The last day of the period at `grain` that contains `day`."""
    start = period_start(day, grain)
    if grain == "day":
        return start
    if grain == "week":
        return start + dt.timedelta(days=6)
    return add_months(start, {"month": 1, "quarter": 3, "year": 12}[grain]) - dt.timedelta(days=1)


def add_months(day: dt.date, n: int) -> dt.date:
    """The first day of the month `n` months after the month of `day` (negative: before)."""
    year, month = divmod(day.month - 1 + n, 12)
    return dt.date(day.year + year, month + 1, 1)


def last_complete_day(through: dt.date, grain: str) -> dt.date:
    """The last day of the last period at `grain` that is complete on day `through`."""
    return through if period_end(through, grain) == through else period_start(through, grain) - dt.timedelta(days=1)


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
