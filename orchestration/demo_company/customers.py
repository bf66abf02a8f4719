"""Draw the demo company's customers: when they arrive, who they are, and their planted fate."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

from . import catalog
from .ids import IdFactory
from .model import Customer
from .timeline import DAY, add_months, month_starts, ts

GROWTH_PER_MONTH = 0.003  # new-customer arrivals grow ~0.3% a month (~4% a year)
YEARLY_AMPLITUDE = 0.15  # arrivals: +15% in March, -15% in September (peak/trough of the cosine)
WEEKEND_WEIGHT = 0.35  # sign-ups on a Saturday or Sunday, relative to a weekday
WARNING_SIGNAL_SHARE = 0.85  # voluntary churners whose usage falls and support pain rises first
REACTIVATION_SHARE = 0.22
# Customers the company already had when its billing data starts: they arrive in the first month
# (without it, a company born on the window's first day grows its ARR ~170% in year two).
INITIAL_BASE_SHARE = 0.2

_NAMES_A = ("Acme", "Blue", "Cedar", "Delta", "Echo", "Fjord", "Granite", "Harbor", "Iris", "Juniper",
            "Kite", "Lumen", "Maple", "Nimbus", "Orbit", "Pine", "Quartz", "River", "Summit", "Tidal",
            "Umber", "Vertex", "Willow", "Xenon", "Yarrow", "Zephyr")  # fmt: skip
_NAMES_B = ("Labs", "Analytics", "Systems", "Health", "Commerce", "Logistics", "Media", "Works",
            "Cloud", "Data", "Learning", "Capital")  # fmt: skip


def arrival_weights(months: list[dt.date]) -> np.ndarray:
    """Relative new-customer arrivals per month: exponential growth times yearly seasonality."""
    idx = np.arange(len(months))
    season = np.array([1 + YEARLY_AMPLITUDE * math.cos(2 * math.pi * (m.month - 3) / 12) for m in months])
    w = (1 + GROWTH_PER_MONTH) ** idx * season
    return w / w.sum()


def draw_customers(
    rng: np.random.Generator, ids: IdFactory, n: int, start: dt.date, end: dt.date
) -> list[Customer]:
    months = month_starts(start, end)
    weights = (1 - INITIAL_BASE_SHARE) * arrival_weights(months)
    weights[0] += INITIAL_BASE_SHARE
    per_month = rng.multinomial(n, weights)
    horizon = ts(end) + DAY
    customers: list[Customer] = []
    for m, count in zip(months, per_month, strict=True):
        next_m = (m.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        days = [m + dt.timedelta(days=i) for i in range((min(next_m, end + dt.timedelta(days=1)) - m).days)]
        weights = np.array([WEEKEND_WEIGHT if d.weekday() >= 5 else 1.0 for d in days])
        for day_i in sorted(rng.choice(len(days), size=count, p=weights / weights.sum())):
            created = ts(days[day_i]) + int(rng.integers(8 * 3600, 20 * 3600))
            customers.append(_draw_one(rng, ids, len(customers), created, horizon))
    return customers


def _draw_one(rng: np.random.Generator, ids: IdFactory, index: int, created: int, horizon: int) -> Customer:
    seg_names = [s for s, _ in catalog.SEGMENTS]
    segment = str(rng.choice(seg_names, p=[p for _, p in catalog.SEGMENTS]))
    country_i = rng.choice(len(catalog.COUNTRIES), p=[c[2] for c in catalog.COUNTRIES])
    country, currency, _ = catalog.COUNTRIES[country_i]
    lo, hi = catalog.SEGMENT_SEATS[segment]
    seats = int(rng.integers(lo, hi + 1))
    tier = catalog.TIERS[rng.choice(4, p=catalog.SEGMENT_TIER_WEIGHTS[segment])].key
    interval = "year" if rng.random() < catalog.SEGMENT_ANNUAL_SHARE[segment] else "month"
    trial = segment != "enterprise" and interval == "month" and rng.random() < catalog.TRIAL_SHARE
    name = f"{_NAMES_A[index % 26]} {_NAMES_B[(index // 26) % 12]} {index // 312 + 1}"
    coupon_roll = rng.random()
    coupon = None
    if coupon_roll < 0.08:
        coupon = "LAUNCH10"
    elif coupon_roll < 0.15:
        coupon = "WELCOME25"
    elif coupon_roll < 0.21:
        coupon = "QUARTER20"
    c = Customer(
        index=index,
        customer_id=ids.stripe("cus"),
        organization_id=ids.uuid("organization"),
        name=name,
        email_domain=name.lower().replace(" ", "") + ".example",
        country=country,
        currency=currency,
        segment=segment,
        industry=str(rng.choice(catalog.INDUSTRIES)),
        employees=int(seats * rng.uniform(3, 12)),
        created=created,
        tier=tier,
        seats=seats,
        interval=interval,
        trial=trial,
        trial_converts=(not trial) or rng.random() < catalog.TRIAL_CONVERSION,
        coupon=coupon,
        card_success=1.0 - catalog.CARD_FAILURE[segment] * (
            catalog.RISKY_CARD_FACTOR if rng.random() < catalog.RISKY_CARD_SHARE else 1.0),
        lead_source=str(rng.choice(catalog.LEAD_SOURCES, p=[0.3, 0.2, 0.12, 0.16, 0.1, 0.12])),
    )
    _plant_fate(rng, c, horizon)
    return c


def _plant_fate(rng: np.random.Generator, c: Customer, horizon: int) -> None:
    """Churn timing and kind, warning signals, reactivation, add-on subscription."""
    if not c.trial_converts:
        return
    paying_start = c.created + (14 * DAY if c.trial else 0)
    hazard = catalog.SEGMENT_MONTHLY_CHURN[c.segment]
    months_to_churn = int(rng.geometric(hazard))
    request = paying_start + int((months_to_churn - rng.uniform(0, 1)) * 30.4 * DAY)
    if c.interval == "year":
        # annual customers decide near renewal: request 10-45 days before an anniversary
        years = max(1, round((request - paying_start) / (365 * DAY)))
        request = add_months(paying_start, 12 * years) - int(rng.uniform(10, 45) * DAY)
    if request < horizon and request > paying_start + 20 * DAY:
        roll = rng.random()
        c.churn_request = request
        if roll < 0.18:
            c.churn_kind = "involuntary"
        elif c.interval == "year" or roll < 0.55:
            c.churn_kind = "voluntary_period_end"
        else:
            c.churn_kind = "voluntary_immediate"
        if c.churn_kind != "involuntary" and rng.random() < WARNING_SIGNAL_SHARE:
            c.warning_signals = True
            c.signals_start = max(paying_start, request - int(rng.uniform(45, 90) * DAY))
        if c.churn_kind != "involuntary" and rng.random() < REACTIVATION_SHARE:
            back = request + int(rng.uniform(75, 220) * DAY)
            if back < horizon - 5 * DAY:
                c.reactivate_at = back
    if c.segment != "smb" and rng.random() < 0.12:
        start = paying_start + int(rng.uniform(20, 300) * DAY)
        if start < horizon and (c.churn_request is None or start < c.churn_request - 30 * DAY):
            c.addon_start = start
