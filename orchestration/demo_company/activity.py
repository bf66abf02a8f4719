"""Per-customer daily activity: the shared backbone of usage, engagement and support pain.

A dense (customers x days) matrix built once from the simulated plan segments, so usage,
feature events, tickets and NPS all agree on who was active, how big, and who was declining.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from . import catalog
from .model import Anomaly, Customer
from .timeline import DAY, ts

WEEKDAY_FACTOR = np.array([1.0, 1.04, 1.05, 1.02, 0.93, 0.42, 0.34])  # Mon..Sun
YEARLY_AMPLITUDE = 0.10  # usage +10% in spring, -10% in autumn; late-December holiday dip below
DECLINE_FLOOR = 0.25  # a churner's usage falls to a quarter of normal by its cancellation
ESTABLISHED_WITHIN_DAYS = 31  # customers active in the first month of data use the product fully


@dataclass
class Activity:
    days: list[dt.date]
    seats: np.ndarray  # (customers, days) seats on the plan, 0 when not a customer
    base_requests: np.ndarray  # (customers, days) expected requests before noise
    decline: np.ndarray  # (customers, days) 1.0 normal, falling towards DECLINE_FLOOR before churn
    day_factor: np.ndarray  # (days,) calendar effects incl. planted usage surge
    outage_days: np.ndarray  # (days,) bool


def calendar_factor(days: list[dt.date], anomalies: list[Anomaly]) -> tuple[np.ndarray, np.ndarray]:
    weekday = WEEKDAY_FACTOR[[d.weekday() for d in days]]
    yearly = np.array([1 + YEARLY_AMPLITUDE * math.cos(2 * math.pi * (d.timetuple().tm_yday - 100) / 365.25) for d in days])
    holiday = np.array([0.55 if (d.month == 12 and d.day >= 23) or (d.month == 1 and d.day == 1) else 1.0 for d in days])
    factor = weekday * yearly * holiday
    outage = np.zeros(len(days), dtype=bool)
    for a in anomalies:
        hit = np.array([a.start.date() <= d < a.end.date() or d == a.start.date() for d in days])
        if a.kind == "usage_surge":
            factor = np.where(hit, factor * (1 + a.magnitude), factor)
        elif a.kind == "outage":
            outage |= hit
    return factor, outage


def build_activity(
    rng: np.random.Generator, customers: list[Customer], start: dt.date, end: dt.date, anomalies: list[Anomaly]
) -> Activity:
    days = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]
    t0 = ts(start)
    n, d = len(customers), len(days)
    seats = np.zeros((n, d), dtype=np.float32)
    rate = np.zeros((n, d), dtype=np.float32)
    decline = np.ones((n, d), dtype=np.float32)
    for i, c in enumerate(customers):
        for seg in c.segments:
            a, b = max(0, (seg.start - t0) // DAY), min(d, -(-(seg.end - t0) // DAY))
            if b <= a:
                continue
            seats[i, a:b] = seg.seats
            rate[i, a:b] = catalog.TIER_REQUESTS_PER_SEAT[seg.tier] * (1.0 if seg.paying else 0.6)
        if c.signals_start is not None:
            a = max(0, (c.signals_start - t0) // DAY)
            stop = c.churned_at[0] if c.churned_at else t0 + d * DAY
            b = min(d, max(a + 1, (stop - t0) // DAY))
            decline[i, a:b] = np.linspace(1.0, DECLINE_FLOOR, b - a)
            decline[i, b:] = DECLINE_FLOOR
            if c.reactivate_at is not None:
                decline[i, max(0, (c.reactivate_at - t0) // DAY):] = 1.0
    # customers grow into a product: usage per seat ramps from 50% to 100% over ~60 days
    tenure = np.clip(np.cumsum(seats > 0, axis=1) / 60.0, 0.5, 1.0).astype(np.float32)
    # ...except the customers already there in the first month (the base the company had when its
    # data starts, customers.INITIAL_BASE_SHARE): established users, no ramp. With the ramp their
    # traffic doubled from December to January and overran the capacity sized on December.
    established = (seats[:, :ESTABLISHED_WITHIN_DAYS] > 0).any(axis=1)
    tenure[established] = 1.0
    affinity = rng.lognormal(0.0, 0.35, size=(n, 1)).astype(np.float32)  # heavy vs light users
    factor, outage = calendar_factor(days, anomalies)
    base = seats * rate * tenure * affinity * decline
    return Activity(days, seats, base, decline, factor.astype(np.float32), outage)
