"""The `Insight` shape (the seed's insight: type, priority, title, description, data points,
recommendations, confidence, impact) plus the rule that fired, the numbers it fired on and the
rule's `Backtest` (how often its claim came true on history)."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

TYPES = ("opportunity", "risk", "trend", "anomaly")
PRIORITIES = ("low", "medium", "high", "critical")
PRIORITY_RANK = {p: i for i, p in enumerate(PRIORITIES)}  # higher = more urgent
IMPACT_UNITS = {
    "financial": "USD per year (positive = gain, negative = loss or exposure)",
    "operational": "0-1 severity for operations",
    "strategic": "0-1 weight for the company's direction",
}

Number = float | int


class DataPoint(BaseModel):
    model_config = ConfigDict(frozen=True)

    label: str
    value: Number | None
    period: str | None = None


class Impact(BaseModel):
    """See `IMPACT_UNITS`: financial in USD per year, operational and strategic 0-1; null when
    the rule cannot estimate it."""

    model_config = ConfigDict(frozen=True)

    financial: float | None = None
    operational: float | None = None
    strategic: float | None = None


class Backtest(BaseModel):
    """How a rule did when replayed as of past month-ends (see `analytics.insights.backtest`).

    Customer rules count customer-periods: `precision` = share of flagged customers whose claim
    came true within `horizon_days`, `base_rate` = the same share over every candidate customer,
    `coverage` = share of all outcomes (churners, expansions) the rule flagged, `coverage_mrr` =
    the same weighted by MRR. Aggregate rules count periods: `precision` = came-true rate of the
    periods it fired in, `base_rate` = the came-true rate over every evaluated period (null when
    the claim only exists when the rule fires). Null = not defined for the rule."""

    model_config = ConfigDict(frozen=True)

    rule: str
    came_true: str  # the definition, in words
    evaluated_periods: int
    first_period: str | None = None
    last_period: str | None = None
    fires: int  # periods in which the rule fired
    flagged: int | None = None  # customer rules: flagged customer-periods
    precision: float | None = Field(None, ge=0, le=1)
    base_rate: float | None = Field(None, ge=0, le=1)
    coverage: float | None = Field(None, ge=0, le=1)
    coverage_mrr: float | None = Field(None, ge=0, le=1)
    horizon_days: (
        int  # how long after each month-end the outcome is watched (calendar months: 31/92)
    )
    seconds: float = Field(0.0, exclude=True)  # replay cost; left out of dumps (not deterministic)
    extra: dict[str, Number | str | None] = Field(default_factory=dict)

    @property
    def fire_rate(self) -> float | None:
        return self.fires / self.evaluated_periods if self.evaluated_periods else None


class Insight(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    type: Literal["opportunity", "risk", "trend", "anomaly"]
    priority: Literal["low", "medium", "high", "critical"]
    title: str
    description: str
    data_points: list[DataPoint] = Field(default_factory=list)
    recommendations: list[str] = Field(default_factory=list)
    confidence: float = Field(ge=0, le=1)
    impact: Impact = Field(default_factory=Impact)
    rule: str
    subject: str
    period: str
    evidence: dict[str, Number | str | None] = Field(default_factory=dict)
    backtest: Backtest | None = None

    def sort_key(self) -> tuple[int, float, float, str]:
        """Priority (most urgent first), then |financial impact|, then operational impact, then id."""
        fin = abs(self.impact.financial) if self.impact.financial is not None else -1.0
        ops = self.impact.operational if self.impact.operational is not None else -1.0
        return (-PRIORITY_RANK[self.priority], -fin, -ops, self.id)


def insight_id(rule: str, subject: str, period: str) -> str:
    """Deterministic id: the first 16 hex digits of sha256(rule|subject|period)."""
    return hashlib.sha256(f"{rule}|{subject}|{period}".encode()).hexdigest()[:16]


_SCHEMA = {
    "rank": pl.Int64, "id": pl.String, "type": pl.String, "priority": pl.String, "title": pl.String,
    "description": pl.String, "rule": pl.String, "subject": pl.String, "period": pl.String,
    "confidence": pl.Float64, "impact_financial": pl.Float64, "impact_operational": pl.Float64,
    "impact_strategic": pl.Float64, "recommendations": pl.List(pl.String), "data_points": pl.String,
    "evidence": pl.String, "backtest": pl.String,
}  # fmt: skip


def insights_frame(insights: list[Insight]) -> pl.DataFrame:
    """One row per insight, in the given order (`rank` from 1), for writing to the warehouse:
    scalars as columns, `recommendations` as a list, `data_points`, `evidence` and `backtest` as
    JSON text (`backtest` null when the rule has none)."""
    rows = [
        {
            "rank": i + 1,
            "id": x.id,
            "type": x.type,
            "priority": x.priority,
            "title": x.title,
            "description": x.description,
            "rule": x.rule,
            "subject": x.subject,
            "period": x.period,
            "confidence": x.confidence,
            "impact_financial": x.impact.financial,
            "impact_operational": x.impact.operational,
            "impact_strategic": x.impact.strategic,
            "recommendations": list(x.recommendations),
            "data_points": json.dumps([d.model_dump() for d in x.data_points], sort_keys=True),
            "evidence": json.dumps(x.evidence, sort_keys=True),
            "backtest": json.dumps(x.backtest.model_dump(), sort_keys=True) if x.backtest else None,
        }
        for i, x in enumerate(insights)
    ]
    return pl.DataFrame(rows, schema=_SCHEMA)
