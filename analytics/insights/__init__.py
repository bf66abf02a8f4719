"""Insights: deterministic, explainable rules over the marts turned into ranked `Insight`s.

`generate(settings, as_of=None) -> list[Insight]`; `insights_frame(insights) -> pl.DataFrame`.
The rules are listed in `RULES` (see `rules` for each one's thresholds)."""

from .model import (
    IMPACT_UNITS,
    PRIORITIES,
    TYPES,
    DataPoint,
    Impact,
    Insight,
    insight_id,
    insights_frame,
)
from .rules import RULES, generate

__all__ = [
    "IMPACT_UNITS",
    "PRIORITIES",
    "RULES",
    "TYPES",
    "DataPoint",
    "Impact",
    "Insight",
    "generate",
    "insight_id",
    "insights_frame",
]
