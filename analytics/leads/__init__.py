"""Lead scoring: `score_leads(settings) -> LeadScoringRun` (see `scoring` for the model and the
qualification thresholds)."""

from .scoring import (
    FEATURE_GROUPS,
    MQL_MIN_SCORE,
    OPPORTUNITY_MIN_SCORE,
    QUALIFICATION_STATUSES,
    SQL_MIN_SCORE,
    STALE_AFTER_DAYS,
    LeadScoringError,
    LeadScoringMetrics,
    LeadScoringRun,
    qualification_status,
    score_leads,
    score_leads_frame,
)

__all__ = [
    "FEATURE_GROUPS",
    "MQL_MIN_SCORE",
    "OPPORTUNITY_MIN_SCORE",
    "QUALIFICATION_STATUSES",
    "SQL_MIN_SCORE",
    "STALE_AFTER_DAYS",
    "LeadScoringError",
    "LeadScoringMetrics",
    "LeadScoringRun",
    "qualification_status",
    "score_leads",
    "score_leads_frame",
]
