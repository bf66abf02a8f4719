"""The demo company's internal state: who the customers are and what happened to them.

The simulation fills these; the Stripe, application and usage writers read them. None of this
leaves the generator except through those writers and the recorded ground truth.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class PlanSegment:
    """A stretch of time during which a customer's main plan and seat count were constant."""

    start: int
    end: int  # exclusive; the horizon end for a still-running plan
    tier: str
    seats: int
    paying: bool  # False during a trial


@dataclass
class Customer:
    index: int
    customer_id: str
    organization_id: str
    name: str
    email_domain: str
    country: str
    currency: str
    segment: str
    industry: str
    employees: int
    created: int
    tier: str
    seats: int
    interval: str  # month | year
    trial: bool
    trial_converts: bool
    coupon: str | None
    card_success: float  # probability that a charge attempt succeeds
    lead_source: str
    # planted churn (None = stays a customer through the horizon, unless payments fail)
    churn_request: int | None = None
    churn_kind: str | None = None  # voluntary_immediate | voluntary_period_end | involuntary
    warning_signals: bool = False
    signals_start: int | None = None
    reactivate_at: int | None = None
    addon_start: int | None = None
    # filled by the simulation
    segments: list[PlanSegment] = field(default_factory=list)
    churned_at: list[int] = field(default_factory=list)
    failed_payments: list[int] = field(default_factory=list)

    @property
    def lifetime_end(self) -> int | None:
        """When the customer stopped having any plan (None if it still has one)."""
        if not self.segments:
            return None
        return max(s.end for s in self.segments)


@dataclass
class Anomaly:
    anomaly_id: str
    kind: str  # outage | revenue_dip | usage_surge
    metrics: str  # comma-separated metric names it shows in
    start: dt.datetime
    end: dt.datetime  # exclusive
    magnitude: float
    description: str


@dataclass
class ChurnTruth:
    customer_id: str
    organization_id: str
    subscription_id: str
    kind: str
    cancel_requested_at: int
    churned_at: int
    warning_signals: bool
    signals_start: int | None
