"""Insights: deterministic, explainable rules over the marts turned into ranked `Insight`s, each
carrying its rule's `Backtest` (how often the claim came true when replayed on history).

`generate(settings, as_of=None) -> list[Insight]`; `insights_frame(insights) -> pl.DataFrame`;
`backtest_rules(settings, as_of)` -> {rule: Backtest}. The rules are listed in `RULES` (see
`rules` for each one's thresholds, `backtest` for how each is judged)."""

from .backtest import backtest_rules
from .model import (
    IMPACT_UNITS,
    PRIORITIES,
    TYPES,
    Backtest,
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
    "Backtest",
    "DataPoint",
    "Impact",
    "Insight",
    "backtest_rules",
    "generate",
    "insight_id",
    "insights_frame",
]
