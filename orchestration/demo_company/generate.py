"""Generate the demo company and write it as source files.

Layout of the output folder (the shapes of the live sources):
    stripe/<object>.jsonl            one Stripe object per line, as the list endpoints return them
                                     (newest first, items/lines/discounts/payments expanded)
    supabase/<table>.parquet         application tables
    usage/api_requests/<YYYY-MM>.parquet, usage/infra_metrics/..., usage/cloud_costs/...
    truth/<table>.parquet            the planted ground truth (churners, anomalies, parameters, defects)
    manifest.json                    seed, scale, window and row counts
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import catalog
from .activity import WEEKDAY_FACTOR, YEARLY_AMPLITUDE, build_activity
from .app_tables import (
    CAMPAIGN_SHARE,
    PLANNED_CAC_USD,
    SEAT_FILL_BETA,
    SEAT_FILL_FULL_RANGE,
    SEAT_FILL_FULL_SHARE,
    AppTables,
)
from .billing import BillingSimulator, StripeAccount
from .customers import GROWTH_PER_MONTH, INITIAL_BASE_SHARE, draw_customers
from .customers import YEARLY_AMPLITUDE as ARRIVAL_YEARLY_AMPLITUDE
from .ids import IdFactory
from .model import Anomaly, Customer
from .timeline import UTC, to_datetime
from .usage import (
    LAGGING_SERVICE,
    SIZING_PEAK_PERCENTILE,
    UTILISATION_TARGET,
    api_requests,
    cloud_costs,
    infra_metrics,
    platform_daily_requests,
)

log = logging.getLogger(__name__)
CUSTOMERS_AT_SCALE_1 = 1_000


@dataclass
class DemoCompany:
    seed: int
    scale: float
    start: dt.date
    end: dt.date
    stripe: StripeAccount
    supabase: dict[str, pa.Table]
    usage: dict[str, pa.Table]
    truth: dict[str, pa.Table]
    malformed: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def row_counts(self) -> dict[str, int]:
        counts = {f"stripe.{k}": len(v) for k, v in self.stripe.tables().items()}
        counts |= {f"supabase.{k}": v.num_rows for k, v in self.supabase.items()}
        counts |= {f"usage.{k}": v.num_rows for k, v in self.usage.items()}
        counts |= {f"truth.{k}": v.num_rows for k, v in self.truth.items()}
        return counts


def window(end: dt.date, months: int) -> tuple[dt.date, dt.date]:
    first = end.replace(day=1)
    total = first.year * 12 + first.month - 1 - (months - 1)
    return dt.date(total // 12, total % 12 + 1, 1), end


def plant_anomalies(rng: np.random.Generator, start: dt.date, end: dt.date) -> list[Anomaly]:
    """Three planted incidents at fixed distances from the end, jittered by the seed."""
    span = (end - start).days

    def weekday_near(days_before_end: int) -> dt.date:
        d = end - dt.timedelta(days=min(span - 30, days_before_end + int(rng.integers(-10, 10))))
        while d.weekday() >= 5:
            d += dt.timedelta(days=1)
        return d

    outage = weekday_near(150)
    dip = weekday_near(270)
    surge = weekday_near(95)
    at = lambda d, h=0: dt.datetime.combine(d, dt.time(h), UTC)  # noqa: E731
    return [
        Anomaly("outage-1", "outage", "api_error_rate,api_latency_p95,infra_cpu_pct,support_tickets",
                at(outage, 9), at(outage, 15), 0.30,
                "Query-engine outage: 30% of requests fail and latency x8 for six hours"),
        Anomaly("revenue-dip-1", "revenue_dip", "payments_collected,failed_payments",
                at(dip), at(dip + dt.timedelta(days=6)), 0.6,
                "Payment processor incident: charge attempts fail ~60% more often for six days"),
        Anomaly("usage-surge-1", "usage_surge", "api_requests",
                at(surge), at(surge + dt.timedelta(days=3)), 1.6,
                "Viral launch: API traffic +160% for three days"),
    ]  # fmt: skip


def build(seed: int = 42, scale: float = 1.0, months: int = 24, end: dt.date = dt.date(2026, 10, 31)) -> DemoCompany:
    """Simulate the company in memory. Deterministic for (seed, scale, months, end)."""
    t = time.perf_counter()
    rng = np.random.default_rng(seed)
    ids = IdFactory(seed)
    start, end = window(end, months)
    anomalies = plant_anomalies(rng, start, end)
    customers = draw_customers(rng, ids, max(5, round(CUSTOMERS_AT_SCALE_1 * scale)), start, end)
    billing = BillingSimulator(rng, ids, start, end, anomalies)
    for c in customers:
        billing.run_customer(c)
    account = billing.finish()
    log.info("billing: %d customers, %d subscriptions, %d invoices, %d charges (%.1fs)", len(customers),
             len(account.subscriptions), len(account.invoices), len(account.charges), time.perf_counter() - t)  # fmt: skip
    act = build_activity(rng, customers, start, end, anomalies)
    api = api_requests(rng, customers, act)
    daily = platform_daily_requests(api, act.days)
    infra, instances = infra_metrics(rng, daily, act.days, anomalies)
    usage = {"api_requests": api, "infra_metrics": infra, "cloud_costs": cloud_costs(rng, daily, instances, act.days)}
    supabase = AppTables(rng, ids, customers, act, start, end).build()
    log.info("usage + app tables: %d API rows (%.1fs)", api.num_rows, time.perf_counter() - t)
    company = DemoCompany(seed, scale, start, end, account, supabase, usage, {})
    company.truth = _truth(company, customers, billing, anomalies)
    company.malformed = _malformed(ids)
    return company


def _truth(company: DemoCompany, customers: list[Customer], billing: BillingSimulator, anomalies: list[Anomaly]) -> dict[str, pa.Table]:
    def stamp(x: int | None) -> dt.datetime | None:
        return to_datetime(x) if x is not None else None

    churn = [{
        "customer_id": c.customer_id, "organization_id": c.organization_id, "subscription_id": c.subscription_id,
        "kind": c.kind, "cancel_requested_at": stamp(c.cancel_requested_at), "churned_at": stamp(c.churned_at),
        "warning_signals": c.warning_signals, "signals_start": stamp(c.signals_start),
    } for c in billing.churn]  # fmt: skip
    reactivated = {c.customer_id: c.reactivate_at for c in customers if c.reactivate_at and len(c.churned_at) >= 1}
    for row in churn:
        row["reactivated_at"] = stamp(reactivated.get(row["customer_id"])) if row["kind"] != "involuntary" else None
    params = {
        "seed": company.seed, "scale": company.scale, "start": company.start.isoformat(), "end": company.end.isoformat(),
        "customers": len(customers), "arrivals_growth_per_month": GROWTH_PER_MONTH,
        "arrivals_yearly_amplitude": ARRIVAL_YEARLY_AMPLITUDE, "usage_yearly_amplitude": YEARLY_AMPLITUDE,
        "usage_weekday_factors": ",".join(f"{x:.2f}" for x in WEEKDAY_FACTOR),
        # planted go-to-market, billing and cost rules (README "Demo company benchmarks")
        "initial_base_share": INITIAL_BASE_SHARE, "trial_share": catalog.TRIAL_SHARE, "trial_conversion": catalog.TRIAL_CONVERSION,
        "segment_monthly_churn": ",".join(f"{k}={v}" for k, v in catalog.SEGMENT_MONTHLY_CHURN.items()),
        "card_failure_per_attempt": ",".join(f"{k}={v}" for k, v in catalog.CARD_FAILURE.items()),
        "retry_success_after_card_failure": ",".join(f"{k}={v}" for k, v in catalog.RETRY_SUCCESS.items()),
        "planned_cac_usd": PLANNED_CAC_USD, "campaign_share_of_sales_marketing": CAMPAIGN_SHARE,
        "seat_fill": f"beta{SEAT_FILL_BETA}, {SEAT_FILL_FULL_SHARE:.0%} full at {SEAT_FILL_FULL_RANGE}",
        # the only planted cost / capacity shifts: the lagging service drifts towards its limit;
        # instances are otherwise sized monthly on a robust peak (no shift after the usage surge)
        "capacity_lagging_service": LAGGING_SERVICE,
        "instance_sizing": f"monthly, p{SIZING_PEAK_PERCENTILE} of the previous month's daily peak hour x1.15 "
                           f"for {UTILISATION_TARGET:.0%} utilisation",
    }  # fmt: skip
    return {
        "churned_customers": pa.Table.from_pylist(churn, schema=pa.schema([
            ("customer_id", pa.string()), ("organization_id", pa.string()), ("subscription_id", pa.string()),
            ("kind", pa.string()), ("cancel_requested_at", pa.timestamp("us", tz="UTC")),
            ("churned_at", pa.timestamp("us", tz="UTC")), ("warning_signals", pa.bool_()),
            ("signals_start", pa.timestamp("us", tz="UTC")), ("reactivated_at", pa.timestamp("us", tz="UTC")),
        ])),  # fmt: skip
        "anomalies": pa.Table.from_pylist([a.__dict__ for a in anomalies]),
        "parameters": pa.Table.from_pylist([{"name": k, "value": str(v)} for k, v in params.items()]),
        "customer_profiles": pa.Table.from_pylist([{
            "customer_id": c.customer_id, "organization_id": c.organization_id, "segment": c.segment,
            "trial": c.trial, "trial_converted": c.trial_converts, "coupon": c.coupon,
            "card_success_probability": c.card_success, "failed_payment_attempts": len(c.failed_payments),
        } for c in customers]),  # fmt: skip
    }


def _malformed(ids: IdFactory) -> dict[str, list[dict[str, Any]]]:
    """A few defective records, planted so the quarantine path runs in every demo."""
    return {
        "stripe/customers": [{"object": "customer", "email": "no-id@broken.example", "created": 1_700_000_000}],
        "stripe/charges": [{"id": ids.stripe("ch"), "object": "charge", "amount": "12.50", "currency": "usd",
                            "created": 1_700_000_000, "status": "succeeded"}],
        "supabase/support_tickets": [{"id": None, "organization_id": None, "category": "bug"}],
        "usage/api_requests": [{"date": None, "account_id": None, "endpoint": "/v1/query", "requests": 5}],
    }  # fmt: skip


def write(company: DemoCompany, out: Path) -> dict[str, int]:
    """Write the company as source files under `out`; returns rows written per file group."""
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    stripe_dir = out / "stripe"
    stripe_dir.mkdir(exist_ok=True)
    for name, rows in company.stripe.tables().items():
        bad = company.malformed.get(f"stripe/{name}", [])
        with open(stripe_dir / f"{name}.jsonl", "wb") as f:
            for obj in (*rows, *bad):
                f.write(orjson.dumps(obj))
                f.write(b"\n")
        counts[f"stripe.{name}"] = len(rows) + len(bad)
    for group, tables in (("supabase", company.supabase), ("truth", company.truth)):
        (out / group).mkdir(exist_ok=True)
        for name, table in tables.items():
            table = _with_defects(table, company.malformed.get(f"{group}/{name}", []))
            pq.write_table(table, out / group / f"{name}.parquet", compression="zstd")
            counts[f"{group}.{name}"] = table.num_rows
    for name, table in company.usage.items():
        folder = out / "usage" / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.parquet"):
            old.unlink()
        table = _with_defects(table, company.malformed.get(f"usage/{name}", []))
        time_col = "hour" if "hour" in table.column_names else "date"
        months = pc.strftime(table.column(time_col), format="%Y-%m")
        for month in pc.unique(pc.drop_null(months)).to_pylist():
            pq.write_table(table.filter(pc.equal(months, month)), folder / f"{month}.parquet", compression="zstd")
        nulls = table.filter(pc.is_null(months))
        if nulls.num_rows:
            pq.write_table(nulls, folder / "unknown-date.parquet", compression="zstd")
        counts[f"usage.{name}"] = table.num_rows
    manifest = {
        "seed": company.seed, "scale": company.scale, "start": company.start.isoformat(),
        "end": company.end.isoformat(), "rows": counts,
        "planted_malformed": {k: len(v) for k, v in company.malformed.items()},
    }  # fmt: skip
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return counts


def _with_defects(table: pa.Table, defects: list[dict[str, Any]]) -> pa.Table:
    if not defects:
        return table
    rows = [{name: d.get(name) for name in table.column_names} for d in defects]
    return pa.concat_tables([table, pa.Table.from_pylist(rows, schema=table.schema)])


def generate(out: Path, seed: int = 42, scale: float = 1.0, months: int = 24,
             end: dt.date = dt.date(2026, 10, 31)) -> DemoCompany:  # fmt: skip
    company = build(seed=seed, scale=scale, months=months, end=end)
    write(company, out)
    return company
