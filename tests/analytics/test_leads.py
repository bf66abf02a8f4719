"""Lead scoring on the demo warehouse: shape, ranges, statuses and the time-split evaluation."""

from __future__ import annotations

import polars as pl
import pytest

from analytics.leads import (
    MQL_MIN_SCORE,
    OPPORTUNITY_MIN_SCORE,
    QUALIFICATION_STATUSES,
    SQL_MIN_SCORE,
    LeadScoringError,
    LeadScoringRun,
    qualification_status,
    score_leads,
    score_leads_frame,
)
from analytics.settings import Settings
from analytics.warehouse import run_query

SUB_SCORES = ("demographic", "behavioral", "engagement", "intent")


@pytest.fixture(scope="module")
def run(dbt_settings: Settings) -> LeadScoringRun:
    return score_leads(dbt_settings)


def test_one_row_per_lead_with_scores_in_range(run: LeadScoringRun, dbt_settings: Settings) -> None:
    leads = run_query(dbt_settings, "select lead_id from marts.fct_leads")
    s = run.scores
    assert s.height == leads.height and s["lead_id"].n_unique() == s.height
    assert set(s["lead_id"]) == set(leads["lead_id"])
    assert s.columns == [
        "lead_id",
        "total_score",
        *SUB_SCORES,
        "qualification_status",
        "next_actions",
        "last_updated",
    ]
    for col in ("total_score", *SUB_SCORES):
        assert s[col].null_count() == 0
        assert s[col].min() >= 0 and s[col].max() <= 100, col  # type: ignore[operator]
    assert set(s["qualification_status"]) <= set(QUALIFICATION_STATUSES)
    assert s["next_actions"].list.len().min() >= 1  # type: ignore[operator]
    assert s["last_updated"].null_count() == 0


def test_time_split_evaluation(run: LeadScoringRun) -> None:
    m = run.metrics
    print(f"\nlead scoring, later time split: {m.as_dict()}")
    assert m.n_train > 0 and m.n_test > 0 and m.test_start is not None
    assert m.roc_auc is not None and m.roc_auc >= 0.7
    assert m.precision_at_top_decile is not None and m.base_rate_test is not None
    assert m.precision_at_top_decile > m.base_rate_test  # the top decile beats picking at random


def test_converted_leads_score_higher(run: LeadScoringRun, dbt_settings: Settings) -> None:
    outcome = run_query(
        dbt_settings, "select lead_id, is_converted, is_disqualified from marts.fct_leads"
    )
    means = (
        run.scores.join(outcome, on="lead_id")
        .group_by("is_converted")
        .agg(pl.col("total_score").mean())
    )
    by = dict(means.iter_rows())
    print(f"\nmean total score: converted {by[True]:.1f}, not converted {by[False]:.1f}")
    assert by[True] > by[False] + 10


def test_breakdown_explains_the_total(run: LeadScoringRun) -> None:
    """Sub-scores are the groups' shares of the log-odds: their logits plus a constant intercept
    give the total's logit."""
    s = run.scores.filter(pl.col("total_score").is_between(1, 99))
    logit = lambda c: (pl.col(c) / 100).log() - (1 - pl.col(c) / 100).log()
    intercept = s.select(
        logit("total_score") - pl.sum_horizontal([logit(g) for g in SUB_SCORES])
    ).to_series()
    assert intercept.std() < 0.05  # rounding to 2 decimals only  # type: ignore[operator]
    assert set(run.coefficients["group"]) == set(SUB_SCORES)


def test_deterministic(run: LeadScoringRun, dbt_settings: Settings) -> None:
    again = score_leads(dbt_settings)
    assert again.scores.equals(run.scores) and again.metrics == run.metrics


def test_qualification_thresholds() -> None:
    assert qualification_status(OPPORTUNITY_MIN_SCORE, "new") == "opportunity"
    assert qualification_status(SQL_MIN_SCORE, "mql") == "sql"
    assert qualification_status(MQL_MIN_SCORE, "new") == "mql"
    assert qualification_status(MQL_MIN_SCORE - 0.01, "mql") == "disqualified"
    assert qualification_status(5, "sql") == "sql"  # never below where sales took the lead
    assert qualification_status(5, "customer") == "opportunity"
    assert qualification_status(99, "disqualified") == "disqualified"  # a sales decision stands


def test_without_both_outcomes_is_a_clear_error(dbt_settings: Settings) -> None:
    leads = run_query(dbt_settings, "select * from marts.fct_leads").filter(pl.col("is_converted"))
    with pytest.raises(LeadScoringError, match="both converted and lost"):
        score_leads_frame(leads)
