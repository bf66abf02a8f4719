"""Dashboards: KPI tiles over governed metrics, for a timeframe, against the previous period.

A dashboard is a fixed list of governed metrics (`DASHBOARDS`). Each tile holds the metric's value
for the timeframe, the value for the previous period of the same length, the change between them
(absolute, relative, direction and whether it is good given the metric's polarity) and a sparkline
of recent periods. Every number comes from `analytics.metrics.query`, so every tile carries the SQL
that ran and the metric definitions behind it.

Timeframes. A timeframe is a whole number of calendar periods ("buckets") at a grain (day, week,
month, quarter, year), because the semantic layer answers per calendar period: a preset
(`last_month`, `last_30_days`, `year_to_date`, ...) or explicit start/end dates snapped outward to
the grain. Presets are resolved against the data's latest date (`data_as_of`), not the wall clock:
demo data ends at a fixed date. The previous period is the same number of buckets immediately
before. A metric only defined at a coarser grain (e.g. NRR, monthly) uses its own grain: the tile
covers the periods of that grain overlapping the timeframe, and says so in `note`.

Values over several buckets. A one-bucket timeframe takes the metric's own value for the bucket,
exact for every kind of metric. Over several buckets the value is combined as the metric's
definition prescribes (`COMBINE`): a snapshot (MRR, customers, health) takes its last bucket, a
flow (revenue, requests) sums its buckets, a ratio divides its combined numerator by its combined
denominator (both governed metrics, queried alongside), an average of a fixed population per day
(utilisation, p95 latency) averages its buckets.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Literal

import polars as pl

from analytics.metrics import MetricQueryError, list_metrics, query
from analytics.metrics.query import period_start, semantic_layer
from analytics.metrics.semantic_layer import MetricDefinition
from analytics.settings import Settings, get_settings
from analytics.warehouse import Freshness, pinned_snapshot, run_query_with_freshness

DashboardType = Literal["executive", "operational", "financial", "customer", "technical"]
DASHBOARD_TYPES: tuple[str, ...] = (
    "executive",
    "operational",
    "financial",
    "customer",
    "technical",
)
Grain = Literal["day", "week", "month", "quarter", "year"]
GRAINS: tuple[str, ...] = ("day", "week", "month", "quarter", "year")
Format = Literal["currency", "number", "percent", "score", "ms", "months", "usd_per_request"]

SPARKLINE_POINTS = 12  # at least this many points per sparkline (more when the timeframe has more)
MAX_SPARKLINE_POINTS = 92
MAX_BUCKETS = 400  # a timeframe of more periods than this needs a coarser grain
MAX_SEGMENTS = 10
MAX_METRICS = 12
TILE_WORKERS = 4  # tiles computed at once (queries release the GIL while the warehouse works)


class DashboardError(MetricQueryError):
    """A dashboard request that cannot be answered; the message says what to change."""


# ---- metric presentation and combination rules ----------------------------------------------------

# How a metric's value over several buckets follows from its per-bucket values:
# "last" snapshot, "first" start-of-period snapshot, "sum" flow, "mean" average over a fixed
# population per bucket, ("ratio", numerator, denominator, scale), ("nps",).
Combine = str | tuple[str, ...]


@dataclass(frozen=True)
class MetricSpec:
    fmt: Format
    polarity: int  # +1 higher is better, -1 lower is better, 0 neither
    combine: Combine


SPECS: dict[str, MetricSpec] = {
    "mrr": MetricSpec("currency", 1, "last"),
    "arr": MetricSpec("currency", 1, "last"),
    "arpa": MetricSpec("currency", 1, "last"),
    "paying_customers": MetricSpec("number", 1, "last"),
    "paying_customers_start": MetricSpec("number", 1, "first"),
    "new_mrr": MetricSpec("currency", 1, "sum"),
    "expansion_mrr": MetricSpec("currency", 1, "sum"),
    "reactivation_mrr": MetricSpec("currency", 1, "sum"),
    "contraction_mrr": MetricSpec("currency", -1, "sum"),
    "churned_mrr": MetricSpec("currency", -1, "sum"),
    "churned_customers": MetricSpec("number", -1, "sum"),
    "logo_churn_rate": MetricSpec("percent", -1, ("ratio", "churned_customers", "paying_customers_start", "1")),
    "nrr": MetricSpec("percent", 1, "last"),
    "grr": MetricSpec("percent", 1, "last"),
    "ltv": MetricSpec("currency", 1, "last"),
    "cac": MetricSpec("currency", -1, ("ratio", "sales_marketing_spend", "cac_new_customers", "1")),
    "cac_new_customers": MetricSpec("number", 1, "sum"),
    "sales_marketing_spend": MetricSpec("currency", 0, "sum"),
    "payback_months": MetricSpec("months", -1, ("ratio", "sales_marketing_spend", "new_mrr_gross_profit", "1")),
    "new_mrr_gross_profit": MetricSpec("currency", 1, "sum"),
    "recognized_revenue": MetricSpec("currency", 1, "sum"),
    "invoiced_revenue": MetricSpec("currency", 1, "sum"),
    "deferred_revenue": MetricSpec("currency", 0, "last"),
    "gross_margin": MetricSpec("percent", 1, ("ratio", "gross_profit", "gross_margin_revenue", "1")),
    "gross_profit": MetricSpec("currency", 1, "sum"),
    "gross_margin_revenue": MetricSpec("currency", 1, "sum"),
    "cost_of_revenue": MetricSpec("currency", -1, "sum"),
    "failed_payments": MetricSpec("number", -1, "sum"),
    "recovered_payments": MetricSpec("number", 1, "sum"),
    "average_health_score": MetricSpec("score", 1, "last"),
    "at_risk_customers": MetricSpec("number", -1, "last"),
    "health_scored_customers": MetricSpec("number", 1, "last"),
    "nps": MetricSpec("score", 1, ("nps",)),
    "nps_promoters": MetricSpec("number", 1, "sum"),
    "nps_detractors": MetricSpec("number", -1, "sum"),
    "nps_responses": MetricSpec("number", 0, "sum"),
    "api_requests": MetricSpec("number", 1, "sum"),
    "api_errors": MetricSpec("number", -1, "sum"),
    "error_rate": MetricSpec("percent", -1, ("ratio", "api_errors", "api_requests", "1")),
    "p95_latency": MetricSpec("ms", -1, "mean"),
    "utilisation": MetricSpec("percent", 0, "mean"),
    "service_cloud_cost": MetricSpec("currency", -1, "sum"),
    "service_requests_served": MetricSpec("number", 1, "sum"),
    "cost_per_request": MetricSpec("usd_per_request", -1, ("ratio", "service_cloud_cost", "service_requests_served", "1")),
    "leads": MetricSpec("number", 1, "sum"),
    "mqls": MetricSpec("number", 1, "sum"),
    "sqls": MetricSpec("number", 1, "sum"),
    "converted_leads": MetricSpec("number", 1, "sum"),
    "conversion_rate": MetricSpec("percent", 1, ("ratio", "converted_leads", "leads", "1")),
    "won_deals": MetricSpec("number", 1, "sum"),
    "won_revenue": MetricSpec("currency", 1, "sum"),
    "open_pipeline": MetricSpec("currency", 1, "last"),
    "weighted_pipeline": MetricSpec("currency", 1, "last"),
    "feature_users": MetricSpec("number", 1, "last"),
    "feature_active_users": MetricSpec("number", 1, "last"),
    "feature_adoption_rate": MetricSpec("percent", 1, "last"),
    "time_to_value_days": MetricSpec("number", -1, "mean"),
}  # fmt: skip

DASHBOARDS: dict[str, dict[str, object]] = {
    "executive": {
        "title": "Executive overview",
        "description": "Recurring revenue, customers, retention and customer health.",
        "metrics": [
            "mrr",
            "arr",
            "paying_customers",
            "nrr",
            "logo_churn_rate",
            "average_health_score",
        ],
        "timeframe": "last_month",
    },
    "financial": {
        "title": "Financial performance",
        "description": "Recurring and recognised revenue, deferred revenue, margin and unit economics.",
        "metrics": ["mrr", "recognized_revenue", "deferred_revenue", "gross_margin", "ltv", "cac"],
        "timeframe": "last_month",
    },
    "customer": {
        "title": "Customer success",
        "description": "Customer health, customers at risk, NPS, churn and revenue movements.",
        "metrics": [
            "average_health_score",
            "at_risk_customers",
            "nps",
            "logo_churn_rate",
            "paying_customers",
            "churned_mrr",
            "expansion_mrr",
        ],
        "timeframe": "last_month",
    },
    "operational": {
        "title": "Operations",
        "description": "Day-to-day running of the business: product usage, reliability, payments and demand.",
        "metrics": [
            "api_requests",
            "error_rate",
            "failed_payments",
            "recovered_payments",
            "leads",
            "won_deals",
        ],
        "timeframe": "last_30_days",
    },
    "technical": {
        "title": "Technical operations",
        "description": "API traffic, errors, latency, capacity utilisation and infrastructure cost.",
        "metrics": [
            "api_requests",
            "api_errors",
            "error_rate",
            "p95_latency",
            "utilisation",
            "cost_per_request",
        ],
        "timeframe": "last_30_days",
    },
}

# preset -> (grain, buckets, whether the last bucket must be complete); None buckets = one bucket
PRESETS: dict[str, tuple[str, int, bool]] = {
    "last_7_days": ("day", 7, False),
    "last_30_days": ("day", 30, False),
    "last_90_days": ("day", 90, False),
    "week_to_date": ("week", 1, False),
    "last_week": ("week", 1, True),
    "month_to_date": ("month", 1, False),
    "last_month": ("month", 1, True),
    "last_3_months": ("month", 3, True),
    "last_6_months": ("month", 6, True),
    "last_12_months": ("month", 12, True),
    "quarter_to_date": ("quarter", 1, False),
    "last_quarter": ("quarter", 1, True),
    "year_to_date": ("year", 1, False),
    "last_year": ("year", 1, True),
}
TIMEFRAME_PRESETS: tuple[str, ...] = tuple(PRESETS)


# ---- calendar buckets -----------------------------------------------------------------------------


def trunc(day: dt.date, grain: str) -> dt.date:
    """First day of the `grain` bucket holding `day` (the metric layer's periods)."""
    if grain not in GRAINS:
        raise DashboardError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    return period_start(day, grain)


def shift(bucket: dt.date, grain: str, n: int) -> dt.date:
    """The bucket start `n` buckets after (negative: before) the bucket starting at `bucket`."""
    if grain == "day":
        return bucket + dt.timedelta(days=n)
    if grain == "week":
        return bucket + dt.timedelta(weeks=n)
    months = {"month": 1, "quarter": 3, "year": 12}[grain] * n
    index = bucket.year * 12 + bucket.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def bucket_end(bucket: dt.date, grain: str) -> dt.date:
    return shift(bucket, grain, 1) - dt.timedelta(days=1)


def buckets(start: dt.date, end: dt.date, grain: str) -> list[dt.date]:
    """Starts of the `grain` buckets overlapping [start, end]."""
    out, b = [], trunc(start, grain)
    while b <= end:
        out.append(b)
        b = shift(b, grain, 1)
    return out


def coarser(a: str, b: str) -> str:
    return a if GRAINS.index(a) >= GRAINS.index(b) else b


# ---- timeframe ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeframe:
    name: str  # the preset, or "custom"
    grain: str
    start: dt.date  # first day of the first bucket
    end: dt.date  # last day with data in the last bucket (<= data_as_of)
    periods: int  # buckets in the timeframe
    previous_start: dt.date
    previous_end: dt.date
    data_as_of: dt.date  # latest date of the data the timeframe was resolved against
    label: str  # human readable, e.g. "2026-10-01 to 2026-10-31 (month)"
    note: str | None = None


def data_as_of(settings: Settings | None = None) -> dt.date:
    """Latest date the core facts cover (subscriptions and API usage): presets end here."""
    settings = settings or get_settings()
    data, _ = run_query_with_freshness(
        settings,
        "select least(max_mrr, max_api) as as_of from "
        "(select max(date_day) as max_mrr from marts.fct_mrr_daily) m, "
        "(select max(date_day) as max_api from marts.fct_api_metrics_daily) a",
    )
    value = data.item(0, 0) if data.height else None
    if value is None:
        raise DashboardError(
            "the warehouse holds no subscription or usage data yet: run the pipeline first"
        )
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def _default_grain(start: dt.date, end: dt.date) -> str:
    days = (end - start).days + 1
    return (
        "day"
        if days <= 92
        else "week"
        if days <= 190
        else "month"
        if days <= 3 * 366
        else "quarter"
    )


def _as_date(value: dt.date | str | None, what: str) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DashboardError(f"{what} {value!r} is not a date; use YYYY-MM-DD") from None


def resolve_timeframe(
    timeframe: str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    grain: str | None = None,
    *,
    as_of: dt.date | None = None,
    settings: Settings | None = None,
) -> Timeframe:
    """A preset (`TIMEFRAME_PRESETS`) or explicit `start`/`end` (snapped outward to whole
    periods of `grain`), resolved against the latest date of the data. `grain` overrides the
    preset's grain (the preset's dates are then snapped to it)."""
    if grain is not None and grain not in GRAINS:
        raise DashboardError(f"unknown grain {grain!r}; use one of {', '.join(GRAINS)}")
    start_d, end_d = _as_date(start, "start"), _as_date(end, "end")
    if timeframe is not None and (start_d or end_d):
        raise DashboardError("give either a timeframe preset or start/end dates, not both")
    latest = as_of or data_as_of(settings)
    note = None
    if timeframe is None and start_d is None and end_d is None:
        timeframe = "last_month"
    if timeframe is not None:
        if timeframe not in PRESETS:
            raise DashboardError(f"unknown timeframe {timeframe!r}; use one of {', '.join(TIMEFRAME_PRESETS)} "
                                 "or give start/end dates")  # fmt: skip
        p_grain, n, complete = PRESETS[timeframe]
        last = trunc(latest, p_grain)
        if complete and bucket_end(last, p_grain) > latest:
            last = shift(last, p_grain, -1)  # the latest bucket is still open: take the one before
        first = shift(last, p_grain, 1 - n)
        name, range_start, range_end = timeframe, first, min(bucket_end(last, p_grain), latest)
        g = grain or p_grain
    else:
        name = "custom"
        range_end = end_d or latest
        if range_end > latest:
            note = f"end {range_end} is after the latest data ({latest}); the timeframe ends there"
            range_end = latest
        range_start = start_d or trunc(range_end, grain or "month")
        if range_start > range_end:
            raise DashboardError(f"start {range_start} is after end {range_end}: swap them, or pick an earlier start "
                                 f"(the data ends on {latest})")  # fmt: skip
        if (range_end - range_start).days > 366 * 10:
            raise DashboardError("timeframes are limited to 10 years; narrow start/end")
        g = grain or _default_grain(range_start, range_end)
    bs = buckets(range_start, range_end, g)
    if len(bs) > MAX_BUCKETS:
        raise DashboardError(f"the timeframe has {len(bs)} {g}s (at most {MAX_BUCKETS}): use a coarser grain "
                             "(week, month, quarter or year) or a shorter timeframe")  # fmt: skip
    tf_start, tf_end = bs[0], min(bucket_end(bs[-1], g), latest)
    prev_start = shift(bs[0], g, -len(bs))
    prev_end = bs[0] - dt.timedelta(days=1)
    label = f"{tf_start} to {tf_end} ({len(bs)} {g}{'s' if len(bs) > 1 else ''})"
    return Timeframe(name=name, grain=g, start=tf_start, end=tf_end, periods=len(bs), previous_start=prev_start,
                     previous_end=prev_end, data_as_of=latest, label=label, note=note)  # fmt: skip


# ---- tiles ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tile:
    metric: str
    label: str
    description: str
    format: str
    polarity: str  # higher_is_better | lower_is_better | neutral
    grain: str
    period_start: dt.date
    period_end: dt.date
    previous_start: dt.date
    previous_end: dt.date
    value: float | None
    previous_value: float | None
    change: float | None  # value - previous_value, in the metric's unit
    change_pct: (
        float | None
    )  # change / |previous_value| (fraction), None when previous is 0 or missing
    direction: str  # up | down | flat | unknown
    status: str  # good | bad | neutral | unknown
    value_text: str
    change_text: str
    sparkline: list[tuple[dt.date, float | None]]
    segmentable: bool
    segments: tuple[str, ...]  # the segments the value is filtered to (empty: all customers)
    combination: str  # how the value follows from the per-period values
    sql: str
    definitions: tuple[MetricDefinition, ...]
    freshness: Freshness
    note: str | None = None


_finest: dict[tuple[str, str], str] = {}


def finest_grain(metric: str, settings: Settings) -> str:
    """The finest time grain the metric can be queried at (some are monthly facts)."""
    layer = semantic_layer(settings)
    key = (str(layer.manifest_path), metric)
    if key not in _finest:
        for g in GRAINS:
            try:
                layer.compile([metric], g, [], None, None, [], [], 1)
            except Exception:  # noqa: BLE001, S112 - MetricFlow refuses grains finer than the metric's
                continue
            _finest[key] = g
            break
        else:
            raise DashboardError(f"metric {metric!r} cannot be queried at any time grain")
    return _finest[key]


def segment_dimension(metric: str, settings: Settings) -> str | None:
    """The metric's customer segment dimension (e.g. customer_month__segment), if it has one."""
    dims = [
        d
        for d in semantic_layer(settings).metrics[metric].dimensions
        if d.split("__")[-1] == "segment"
    ]
    return dims[0] if dims else None


def valid_segments(settings: Settings | None = None) -> list[str]:
    settings = settings or get_settings()
    data, _ = run_query_with_freshness(settings, "select distinct segment from marts.dim_customers "
                                                 "where segment is not null order by 1")  # fmt: skip
    return [str(v) for v in data.get_column("segment").to_list()]


def _check_segments(segments: Sequence[str], settings: Settings) -> tuple[str, ...]:
    segs = tuple(dict.fromkeys(s.strip() for s in segments if s and s.strip()))
    if len(segs) > MAX_SEGMENTS:
        raise DashboardError(f"at most {MAX_SEGMENTS} segments")
    if segs:
        valid = valid_segments(settings)
        bad = [s for s in segs if s not in valid]
        if bad:
            raise DashboardError(
                f"unknown segment(s) {', '.join(map(repr, bad))}; valid segments: {', '.join(valid)}"
            )
    return segs


def _components(combine: Combine) -> list[str]:
    if isinstance(combine, tuple):
        if combine[0] == "ratio":
            return [combine[1], combine[2]]
        if combine[0] == "nps":
            return ["nps_promoters", "nps_detractors", "nps_responses"]
    return []


def _spec(metric: str, definition: MetricDefinition) -> MetricSpec:
    spec = SPECS.get(metric)
    if spec is not None:
        return spec
    # a metric added after this table: a ratio combines its parts, anything else shows the latest period
    tp = definition.definition.get("type_params", {})
    if definition.type == "ratio" and tp.get("numerator") and tp.get("denominator"):
        return MetricSpec(
            "number", 0, ("ratio", tp["numerator"]["name"], tp["denominator"]["name"], "1")
        )
    return MetricSpec("number", 0, "latest")


def _combine(
    metric: str, combine: Combine, rows: dict[dt.date, dict[str, float | None]], keys: list[dt.date]
) -> float | None:
    values = [rows.get(k, {}).get(metric) for k in keys]
    present = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if len(keys) == 1 and metric in rows.get(keys[0], {}):
        return present[0] if present else None  # one bucket: the metric's own value, exact
    if isinstance(combine, tuple):
        if combine[0] == "ratio":
            num = _combine(
                combine[1],
                SPECS.get(combine[1], MetricSpec("number", 0, "sum")).combine,
                rows,
                keys,
            )
            den = _combine(
                combine[2],
                SPECS.get(combine[2], MetricSpec("number", 0, "sum")).combine,
                rows,
                keys,
            )
            return None if num is None or not den else num / den * float(combine[3])
        if combine[0] == "nps":
            p, d, r = (
                _combine(m, "sum", rows, keys)
                for m in ("nps_promoters", "nps_detractors", "nps_responses")
            )
            return None if p is None or d is None or not r else 100.0 * (p - d) / r
    if not present:
        return None
    if combine in ("last", "latest"):
        return present[-1]
    if combine == "first":
        return present[0]
    if combine == "sum":
        return float(sum(present))
    if combine == "mean":
        return float(sum(present) / len(present))
    raise DashboardError(f"no combination rule {combine!r} for {metric}")


COMBINATION_TEXT = {
    "last": "snapshot: the value at the end of the period",
    "latest": "the value of the latest period",
    "first": "the value at the start of the period",
    "sum": "sum over the period",
    "mean": "average of the per-period values",
    "ratio": "ratio of the numerator and denominator over the whole period",
    "nps": "NPS over all responses of the period",
}


def _combination_text(combine: Combine) -> str:
    return COMBINATION_TEXT[combine[0] if isinstance(combine, tuple) else combine]


def format_value(value: float | None, fmt: str) -> str:
    if value is None:
        return "n/a"
    if fmt == "currency":
        a = abs(value)
        sign = "-" if value < 0 else ""
        if a >= 1e6:
            return f"{sign}${a / 1e6:.2f}M"
        if a >= 1e4:
            return f"{sign}${a / 1e3:.1f}K"
        return f"{sign}${a:,.0f}"
    if fmt == "percent":
        return f"{value * 100:.2f}%" if abs(value) < 0.1 else f"{value * 100:.1f}%"
    if fmt == "score":
        return f"{value:.1f}"
    if fmt == "ms":
        return f"{value:,.0f} ms"
    if fmt == "months":
        return f"{value:.1f} mo"
    if fmt == "usd_per_request":
        return f"${value * 1000:.4f}/1k req"
    a = abs(value)
    if a >= 1e6:
        return f"{value / 1e6:.2f}M"
    if a >= 1e4:
        return f"{value / 1e3:.1f}K"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def _change_text(change: float | None, pct: float | None, fmt: str, previous: float | None) -> str:
    if change is None:
        return "no previous period"
    if fmt == "percent":
        text = f"{change * 100:+.2f} pp" if abs(change) < 0.01 else f"{change * 100:+.1f} pp"
    elif fmt == "score":
        text = f"{change:+.1f}"
    else:
        text = ("+" if change >= 0 else "-") + format_value(abs(change), fmt)
    if pct is not None and fmt not in ("percent", "score"):
        text += f" ({pct * 100:+.1f}%)"
    return f"{text} vs previous ({format_value(previous, fmt)})"


def _trim(series: list[tuple[dt.date, float | None]]) -> list[tuple[dt.date, float | None]]:
    """Drop the periods before the data starts (leading missing values)."""
    for i, (_, v) in enumerate(series):
        if v is not None:
            return series[i:]
    return series


def compute_tile(
    metric: str,
    timeframe: Timeframe,
    segments: Sequence[str] = (),
    settings: Settings | None = None,
) -> Tile:
    """One KPI tile for `metric` over `timeframe` against the previous period (segments already
    validated, see `generate_dashboard`)."""
    settings = settings or get_settings()
    layer = semantic_layer(settings)
    if metric not in layer.metrics:
        # reuse the metric layer's "closest valid names" message
        query(metric, settings=settings, limit=1)
    definition = layer.metrics[metric]
    spec = _spec(metric, definition)
    notes = []
    grain = coarser(timeframe.grain, finest_grain(metric, settings))
    if grain != timeframe.grain:
        notes.append(f"{definition.label} is defined per {grain}: the tile covers the {grain}s overlapping the "
                     "timeframe")  # fmt: skip
    current = buckets(timeframe.start, timeframe.end, grain)
    n = len(current)
    previous = [shift(current[0], grain, k) for k in range(-n, 0)]
    spark_n = min(MAX_SPARKLINE_POINTS, max(SPARKLINE_POINTS, n))
    spark = [shift(current[-1], grain, k) for k in range(1 - spark_n, 1)]
    first = min(previous[0], spark[0])
    seg_dim = segment_dimension(metric, settings)
    segs = tuple(segments)
    filters = {seg_dim: list(segs)} if segs and seg_dim else None
    if segs and not seg_dim:
        notes.append(f"{definition.label} has no customer segment: the value covers all customers")
    names = [metric] + [c for c in _components(spec.combine) if n > 1 and c != metric]
    result = query(
        names, grain=grain, start=first, end=timeframe.end, filters=filters, settings=settings
    )
    rows: dict[dt.date, dict[str, float | None]] = {}
    for row in result.data.iter_rows(named=True):
        period = row.pop("period")
        rows[period] = {k: (None if v is None else float(v)) for k, v in row.items()}
    value = _combine(metric, spec.combine, rows, current)
    prev = _combine(metric, spec.combine, rows, previous)
    change = None if value is None or prev is None else value - prev
    pct = None if change is None or not prev else change / abs(prev)
    if change is None:
        direction, status = "unknown", "unknown"
    else:
        flat = change == 0 or (pct is not None and abs(pct) < 1e-9)
        direction = "flat" if flat else "up" if change > 0 else "down"
        sign = 0 if flat else (1 if change > 0 else -1)
        status = (
            "neutral"
            if sign * spec.polarity == 0
            else "good"
            if sign * spec.polarity > 0
            else "bad"
        )
    if value is None:
        notes.append("no data for the timeframe")
    polarity = {1: "higher_is_better", -1: "lower_is_better", 0: "neutral"}[spec.polarity]
    return Tile(
        metric=metric, label=definition.label, description=definition.description, format=spec.fmt,
        polarity=polarity, grain=grain, period_start=current[0],
        period_end=min(bucket_end(current[-1], grain), timeframe.data_as_of), previous_start=previous[0],
        previous_end=current[0] - dt.timedelta(days=1), value=value, previous_value=prev, change=change,
        change_pct=pct, direction=direction, status=status, value_text=format_value(value, spec.fmt),
        change_text=_change_text(change, pct, spec.fmt, prev),
        sparkline=_trim([(b, rows.get(b, {}).get(metric)) for b in spark]), segmentable=seg_dim is not None,
        segments=segs if seg_dim else (), combination=_combination_text(spec.combine) if n > 1 else
        f"the metric's own value for the {grain}", sql=result.sql, definitions=result.metrics,
        freshness=result.freshness, note="; ".join(notes) or None,
    )  # fmt: skip


# ---- dashboards -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    type: str
    title: str
    description: str
    timeframe: Timeframe
    segments: tuple[str, ...]
    tiles: list[Tile]
    summary: str
    sql: list[str]
    tables: list[str]
    definitions: list[MetricDefinition]
    freshness: Freshness


def check_type(dashboard_type: str) -> str:
    if dashboard_type not in DASHBOARDS:
        raise DashboardError(
            f"unknown dashboard type {dashboard_type!r}; use one of {', '.join(DASHBOARD_TYPES)}"
        )
    return dashboard_type


def dashboard_metrics(dashboard_type: str) -> list[str]:
    return list(DASHBOARDS[check_type(dashboard_type)]["metrics"])  # type: ignore[call-overload]


def default_timeframe(dashboard_type: str) -> str:
    return str(DASHBOARDS[check_type(dashboard_type)]["timeframe"])


_TABLE = re.compile(
    r"""[`"]?(marts|analytics|staging)[`"]?\s*\.\s*[`"]?([A-Za-z_][A-Za-z0-9_]*)""", re.IGNORECASE
)


def tables_in(sql: str) -> list[str]:
    """schema.table names read by a generated statement."""
    return list(dict.fromkeys(f"{s.lower()}.{t}" for s, t in _TABLE.findall(sql)))


def _summary(title: str, tf: Timeframe, segments: Sequence[str], tiles: Sequence[Tile]) -> str:
    scope = f" for segment(s) {', '.join(segments)}" if segments else ""
    head = f"{title}{scope}, {tf.label}, compared with {tf.previous_start} to {tf.previous_end}."
    parts = []
    for t in tiles:
        text = f"{t.label} {t.value_text}"
        if t.change is not None:
            text += f" ({t.change_text.split(' vs ')[0]}, {t.status})"
        parts.append(text)
    good = [t.label for t in tiles if t.status == "good"]
    bad = [t.label for t in tiles if t.status == "bad"]
    tail = []
    if good:
        tail.append(f"Improving: {', '.join(good)}.")
    if bad:
        tail.append(f"Worsening: {', '.join(bad)}.")
    return " ".join([head, "; ".join(parts) + ".", *tail])


def assemble(
    dashboard_type: str, title: str, description: str, timeframe: Timeframe, segments: Sequence[str],
    tiles: list[Tile],
) -> Dashboard:  # fmt: skip
    defs: dict[str, MetricDefinition] = {}
    for t in tiles:
        for d in t.definitions:
            defs.setdefault(d.name, d)
    sql = [t.sql for t in tiles]
    tables = list(dict.fromkeys(x for s in sql for x in tables_in(s)))
    fresh = tiles[0].freshness if tiles else None
    if fresh is None:
        raise DashboardError("the dashboard has no tiles")
    return Dashboard(type=dashboard_type, title=title, description=description, timeframe=timeframe,
                     segments=tuple(segments), tiles=tiles, summary=_summary(title, timeframe, segments, tiles),
                     sql=sql, tables=tables, definitions=list(defs.values()), freshness=fresh)  # fmt: skip


@dataclass(frozen=True)
class DashboardPlan:
    """What a dashboard will compute: resolved before any tile runs, so callers can report progress."""

    type: str
    title: str
    description: str
    timeframe: Timeframe
    segments: tuple[str, ...]
    metrics: list[str]


def plan_dashboard(
    dashboard_type: str,
    timeframe: str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    segments: Sequence[str] = (),
    grain: str | None = None,
    settings: Settings | None = None,
) -> DashboardPlan:
    settings = settings or get_settings()
    check_type(dashboard_type)
    if timeframe is None and start is None and end is None:
        timeframe = default_timeframe(dashboard_type)
    tf = resolve_timeframe(timeframe, start, end, grain, settings=settings)
    d = DASHBOARDS[dashboard_type]
    return DashboardPlan(type=dashboard_type, title=str(d["title"]), description=str(d["description"]), timeframe=tf,
                         segments=_check_segments(segments, settings), metrics=dashboard_metrics(dashboard_type))  # fmt: skip


def generate_dashboard(
    dashboard_type: str,
    timeframe: str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    segments: Sequence[str] = (),
    grain: str | None = None,
    settings: Settings | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> Dashboard:
    """The dashboard `dashboard_type` (one of `DASHBOARD_TYPES`) for a timeframe preset or
    start/end dates (default: the dashboard's own default timeframe), optionally filtered to
    customer segments. `progress(done, total, message)` is called after each tile."""
    settings = settings or get_settings()
    with pinned_snapshot(settings):
        plan = plan_dashboard(dashboard_type, timeframe, start, end, segments, grain, settings)
        tiles = compute_tiles(plan.metrics, plan.timeframe, plan.segments, settings, progress)
        return assemble(
            plan.type, plan.title, plan.description, plan.timeframe, plan.segments, tiles
        )


def compute_tiles(
    metrics: Sequence[str],
    timeframe: Timeframe,
    segments: Sequence[str] = (),
    settings: Settings | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    workers: int | None = None,
) -> list[Tile]:
    """Tiles for `metrics`, computed concurrently (each is one warehouse query), in order.
    `progress(done, total, message)` is called as each finishes, from the caller's thread."""
    settings = settings or get_settings()
    workers = TILE_WORKERS if workers is None else workers
    if workers <= 1 or len(metrics) <= 1:
        out = []
        for i, m in enumerate(metrics):
            out.append(compute_tile(m, timeframe, segments, settings))
            if progress:
                progress(i + 1, len(metrics), f"{out[-1].label} computed")
        return out
    with ThreadPoolExecutor(
        min(workers, len(metrics)), thread_name_prefix="dashboard-tile"
    ) as pool:
        # each task runs in a copy of this context, so a pinned warehouse snapshot holds for all tiles
        futures = {pool.submit(contextvars.copy_context().run, compute_tile, m, timeframe, segments, settings): i
                   for i, m in enumerate(metrics)}  # fmt: skip
        tiles: list[Tile | None] = [None] * len(metrics)
        for done, fut in enumerate(as_completed(futures), start=1):
            tiles[futures[fut]] = fut.result()
            if progress:
                progress(done, len(metrics), f"{fut.result().label} computed")
    return [t for t in tiles if t is not None]


# ---- analyze_metrics ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trend:
    """Shape of a metric's series over the sparkline periods."""

    points: int
    first: float | None
    last: float | None
    minimum: float | None
    minimum_period: dt.date | None
    maximum: float | None
    maximum_period: dt.date | None
    mean: float | None
    slope_per_period: float | None  # least-squares slope, metric units per period
    total_change_pct: float | None  # (last - first) / |first|
    volatility: float | None  # coefficient of variation (stdev / |mean|)
    direction: str  # rising | falling | flat | insufficient_data
    summary: str


def trend(
    series: Sequence[tuple[dt.date, float | None]], label: str, fmt: str, grain: str
) -> Trend:
    pts = [(p, v) for p, v in series if v is not None and not math.isnan(v)]
    if len(pts) < 3:
        return Trend(len(pts), None, None, None, None, None, None, None, None, None, None, "insufficient_data",
                     f"{label}: too few periods with data for a trend.")  # fmt: skip
    xs = [float(i) for i, (p, _) in enumerate(series) if p in {q for q, _ in pts}]
    ys = [v for _, v in pts]
    n = len(ys)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx if sxx else 0.0
    sd = math.sqrt(sum((y - my) ** 2 for y in ys) / (n - 1))
    lo = min(pts, key=lambda p: p[1])
    hi = max(pts, key=lambda p: p[1])
    first, last = ys[0], ys[-1]
    total = (last - first) / abs(first) if first else None
    fitted_change = slope * (xs[-1] - xs[0])
    scale = abs(my) or max(abs(y) for y in ys) or 1.0
    direction = (
        "flat" if abs(fitted_change) < 0.02 * scale else "rising" if slope > 0 else "falling"
    )
    text = (f"{label} is {direction} over the last {n} {grain}s: from {format_value(first, fmt)} to "
            f"{format_value(last, fmt)}" + (f" ({total * 100:+.1f}%)" if total is not None else "") +
            f", low {format_value(lo[1], fmt)} ({lo[0]}), high {format_value(hi[1], fmt)} ({hi[0]}).")  # fmt: skip
    return Trend(n, first, last, lo[1], lo[0], hi[1], hi[0], my, slope, total, sd / abs(my) if my else None,
                 direction, text)  # fmt: skip


@dataclass(frozen=True)
class MetricAnalysis:
    timeframe: Timeframe
    segments: tuple[str, ...]
    tiles: list[Tile]
    trends: dict[str, Trend]
    summary: str
    sql: list[str]
    tables: list[str]
    definitions: list[MetricDefinition]
    freshness: Freshness


def analyze_metrics(
    metrics: Sequence[str],
    timeframe: str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    grain: str | None = None,
    segments: Sequence[str] = (),
    settings: Settings | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> MetricAnalysis:
    """Tiles (value, previous period, change, sparkline) and a trend for any governed metrics."""
    settings = settings or get_settings()
    names = list(dict.fromkeys(metrics))
    if not names:
        raise DashboardError("ask for at least one metric; list_metrics names them")
    if len(names) > MAX_METRICS:
        raise DashboardError(f"at most {MAX_METRICS} metrics per analysis")
    with pinned_snapshot(settings):
        known = {m.name for m in list_metrics(settings)}
        for name in names:
            if name not in known:
                query(
                    name, settings=settings, limit=1
                )  # raises UnknownNameError with close matches
        tf = resolve_timeframe(timeframe, start, end, grain, settings=settings)
        segs = _check_segments(segments, settings)
        tiles = compute_tiles(names, tf, segs, settings, progress)
    trends = {t.metric: trend(t.sparkline, t.label, t.format, t.grain) for t in tiles}
    dash = assemble("analysis", "Metric analysis", "", tf, segs, tiles)
    summary = dash.summary + " " + " ".join(tr.summary for tr in trends.values())
    return MetricAnalysis(timeframe=tf, segments=segs, tiles=tiles, trends=trends, summary=summary, sql=dash.sql,
                          tables=dash.tables, definitions=dash.definitions, freshness=dash.freshness)  # fmt: skip


def sparkline_frame(tile: Tile) -> pl.DataFrame:
    """A tile's sparkline as a polars frame (`period`, `value`)."""
    return pl.DataFrame({"period": [p for p, _ in tile.sparkline], "value": [v for _, v in tile.sparkline]},
                        schema={"period": pl.Date, "value": pl.Float64})  # fmt: skip


__all__ = [
    "DASHBOARDS",
    "DASHBOARD_TYPES",
    "TIMEFRAME_PRESETS",
    "Dashboard",
    "DashboardError",
    "DashboardPlan",
    "MetricAnalysis",
    "Tile",
    "Timeframe",
    "Trend",
    "analyze_metrics",
    "compute_tile",
    "data_as_of",
    "generate_dashboard",
    "plan_dashboard",
    "resolve_timeframe",
    "sparkline_frame",
]
