"""Product usage and operations data: daily API requests per account and endpoint, hourly
infrastructure metrics per service, daily cloud costs per service. Vectorised with numpy:
millions of rows in a few seconds."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from . import catalog, latency
from .activity import Activity
from .model import Anomaly, Customer

OUTAGE_ERROR_RATE = 0.09  # share of a day's requests failing on the outage day
OUTAGE_LATENCY_FACTOR = 4.5
HOURLY_PROFILE = np.array(
    [0.35, 0.3, 0.28, 0.27, 0.3, 0.4, 0.6, 0.85, 1.15, 1.35, 1.45, 1.5,
     1.45, 1.5, 1.5, 1.45, 1.35, 1.2, 1.0, 0.85, 0.7, 0.6, 0.5, 0.4]
)  # fmt: skip
HOURLY_PROFILE = HOURLY_PROFILE / HOURLY_PROFILE.sum()
UTILISATION_TARGET = 0.55  # ops sizes instances monthly for this peak utilisation...
LAGGING_SERVICE = "report-renderer"  # ...except this one, which drifts towards its limit
# Instances for a month are sized on this percentile of the previous month's daily peak hours
# (x1.15 headroom): robust to a surge of up to three days (the 4th-highest day of a month).
# Sizing on the single peak hour doubled the compute bill in the month after the planted 3-day
# usage surge, a cost shift nobody planted.
SIZING_PEAK_PERCENTILE = 90


def api_requests(rng: np.random.Generator, customers: list[Customer], act: Activity) -> pa.Table:
    """One row per account, day and endpoint with traffic."""
    expected = act.base_requests * act.day_factor[None, :]
    noisy = expected * rng.lognormal(0.0, 0.18, size=expected.shape).astype(np.float32)
    ci, di = np.nonzero(noisy >= 1.0)
    totals = noisy[ci, di]
    org_ids = np.array([c.organization_id for c in customers], dtype=object)
    org_latency = rng.lognormal(0.0, 0.12, size=len(customers))
    outage = act.outage_days[di]
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("ci", "di", "ep", "req", "err", "p50", "p95", "p99")}
    for e, (_, share, err_rate, p50) in enumerate(catalog.ENDPOINTS):
        req = np.maximum(1, np.round(totals * share * rng.lognormal(0, 0.1, size=totals.size))).astype(np.int64)
        rate = np.clip(err_rate * rng.lognormal(0, 0.5, size=req.size) + np.where(outage, OUTAGE_ERROR_RATE, 0.0), 0, 1)
        err = rng.binomial(req, rate).astype(np.int64)
        lat50 = p50 * org_latency[ci] * rng.lognormal(0, 0.08, size=req.size) * np.where(outage, 1.6, 1.0)
        lat95 = lat50 * rng.uniform(2.2, 2.8, size=req.size) * np.where(outage, OUTAGE_LATENCY_FACTOR / 1.6, 1.0)
        lat99 = lat95 * rng.uniform(1.4, 1.9, size=req.size)
        for k, v in (("ci", ci), ("di", di), ("ep", np.full(req.size, e)), ("req", req), ("err", err),
                     ("p50", lat50), ("p95", lat95), ("p99", lat99)):  # fmt: skip
            cols[k].append(v)
    c = {k: np.concatenate(v) for k, v in cols.items()}
    order = np.lexsort((c["ep"], c["ci"], c["di"]))
    day_arr = np.array(act.days, dtype="datetime64[D]")
    endpoints = np.array([e[0] for e in catalog.ENDPOINTS], dtype=object)
    # latency histograms (latency.py): deterministic from requests, p50 and p95, no random draws;
    # the stored p99 is that distribution's too (the draw that used to set it is kept, unused, so
    # every later random number stays where it was)
    p50, p95 = c["p50"][order], c["p95"][order]
    buckets = latency.histogram(c["req"][order], p50, p95)
    columns = {
        "date": pa.array(day_arr[c["di"][order]]),
        "account_id": pa.array(org_ids[c["ci"][order]], pa.string()),
        "endpoint": pa.array(endpoints[c["ep"][order]], pa.string()),
        "requests": pa.array(c["req"][order]),
        "errors": pa.array(c["err"][order]),
        "latency_p50_ms": pa.array(np.round(p50, 1)),
        "latency_p95_ms": pa.array(np.round(p95, 1)),
        "latency_p99_ms": pa.array(np.round(latency.p99(p50, p95), 1)),
    }  # fmt: skip
    for k, name in enumerate(latency.bucket_columns()):
        columns[name] = pa.array(buckets[:, k])
    return pa.table(columns)


def platform_daily_requests(table: pa.Table, days: list[dt.date]) -> np.ndarray:
    day_arr = np.array(days, dtype="datetime64[D]")
    idx = np.searchsorted(day_arr, table.column("date").to_numpy())
    return np.bincount(idx, weights=table.column("requests").to_numpy(), minlength=len(days))


def infra_metrics(
    rng: np.random.Generator, daily_requests: np.ndarray, days: list[dt.date], anomalies: list[Anomaly]
) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """One row per service per hour; also returns instances per service per day (for costs)."""
    hours = np.arange(len(days) * 24)
    hourly = np.repeat(daily_requests, 24) * np.tile(HOURLY_PROFILE, len(days))
    start = np.datetime64(days[0], "h")
    stamps = start + hours.astype("timedelta64[h]")
    outage = np.zeros(hours.size, dtype=bool)
    for a in anomalies:
        if a.kind == "outage":
            outage |= (stamps >= np.datetime64(a.start.replace(tzinfo=None), "h")) & (stamps < np.datetime64(a.end.replace(tzinfo=None), "h"))
    month_of_day = np.array([d.year * 12 + d.month for d in days])
    out, instances_daily = [], {}
    for name, share, cap, _rate in catalog.SERVICES:
        req = hourly * share * rng.lognormal(0, 0.05, size=hours.size)
        inst_day = np.ones(len(days))
        for m in np.unique(month_of_day):
            sel = month_of_day == m
            prev = month_of_day == m - 1
            daily_peaks = req.reshape(-1, 24).max(axis=1)
            # the first month (no history): sized for that month's own traffic, as planned at launch
            peak = float(np.percentile(daily_peaks[prev if prev.any() else sel], SIZING_PEAK_PERCENTILE))
            target = UTILISATION_TARGET
            if name == LAGGING_SERVICE:  # under-provisioned: fewer instances each month
                target = min(0.95, 0.6 + 0.012 * (m - month_of_day[0]))
            inst_day[sel] = max(2, int(np.ceil(peak * 1.15 / (cap * target))))
        instances = np.repeat(inst_day, 24)
        capacity = instances * cap
        util = req / capacity
        cpu = np.clip(6 + 78 * util + rng.normal(0, 2.5, hours.size) + np.where(outage, 35, 0), 0, 100)
        mem = np.clip(32 + 38 * util + rng.normal(0, 2.0, hours.size), 0, 100)
        out.append(pa.table({
            "hour": pa.array(stamps.astype("datetime64[us]"), pa.timestamp("us", tz="UTC")),
            "service": pa.array([name] * hours.size, pa.string()),
            "requests": pa.array(np.round(req).astype(np.int64)),
            "capacity_requests": pa.array(np.round(capacity).astype(np.int64)),
            "instances": pa.array(instances.astype(np.int64)),
            "cpu_pct": pa.array(np.round(cpu, 2)),
            "memory_pct": pa.array(np.round(mem, 2)),
        }))  # fmt: skip
        instances_daily[name] = inst_day
    return pa.concat_tables(out), instances_daily


def cloud_costs(
    rng: np.random.Generator, daily_requests: np.ndarray, instances: dict[str, np.ndarray], days: list[dt.date]
) -> pa.Table:
    """One row per day, service and cost category (compute, storage, network), in USD."""
    rows_date, rows_service, rows_cat, rows_cost = [], [], [], []
    day_arr = np.array(days, dtype="datetime64[D]")
    growth = np.linspace(1.0, 2.2, len(days))
    for name, share, _cap, rate in catalog.SERVICES:
        compute = instances[name] * rate * 24 * rng.uniform(0.97, 1.03, len(days))
        storage = (3.0 + 9.0 * share) * growth * rng.uniform(0.99, 1.01, len(days))
        network = daily_requests * share * 2.0e-7 * rng.uniform(0.9, 1.1, len(days))
        for cat, cost in (("compute", compute), ("storage", storage), ("network", network)):
            rows_date.append(day_arr)
            rows_service.append(np.full(len(days), name, dtype=object))
            rows_cat.append(np.full(len(days), cat, dtype=object))
            rows_cost.append(np.round(cost, 2))
    return pa.table({
        "date": pa.array(np.concatenate(rows_date)),
        "service": pa.array(np.concatenate(rows_service), pa.string()),
        "category": pa.array(np.concatenate(rows_cat), pa.string()),
        "provider": pa.array(["gcp"] * len(days) * len(catalog.SERVICES) * 3, pa.string()),
        "cost_usd": pa.array(np.concatenate(rows_cost)),
    })  # fmt: skip
