"""Insights on the demo warehouse: deterministic, explained by numbers, ranked, and the planted
outage shows up."""

from __future__ import annotations

import datetime as dt
import json
import numbers

import polars as pl
import pytest

from analytics.insights import (
    PRIORITIES,
    RULES,
    TYPES,
    Insight,
    generate,
    insight_id,
    insights_frame,
)
from analytics.insights import rules as rules_module
from analytics.settings import Settings
from analytics.warehouse import run_query

RANK = {p: i for i, p in enumerate(PRIORITIES)}


@pytest.fixture(scope="module")
def insights(dbt_settings: Settings) -> list[Insight]:
    return generate(dbt_settings)


@pytest.fixture(scope="module")
def outage(dbt_settings: Settings) -> dict[str, dt.datetime]:
    truth = run_query(
        dbt_settings, "select start, \"end\" from demo_truth.anomalies where kind = 'outage'"
    )
    return truth.row(0, named=True)


@pytest.fixture(scope="module")
def after_outage(dbt_settings: Settings, outage: dict[str, dt.datetime]) -> list[Insight]:
    return generate(dbt_settings, as_of=outage["end"].date() + dt.timedelta(days=3))


def test_deterministic(insights: list[Insight], dbt_settings: Settings) -> None:
    again = generate(dbt_settings)
    assert [x.model_dump() for x in again] == [x.model_dump() for x in insights]


def test_shapes_ids_rules_and_evidence(
    insights: list[Insight], after_outage: list[Insight]
) -> None:
    print(
        "\n"
        + "\n".join(
            f"{x.priority:8} {x.type:11} {x.rule:26} {x.title}" for x in insights + after_outage
        )
    )
    assert insights, "the demo company always has at least the MRR forecast trend"
    for batch in (insights, after_outage):
        ids = [x.id for x in batch]
        assert len(ids) == len(set(ids))
        for x in batch:
            assert x.id == insight_id(x.rule, x.subject, x.period)
            assert x.type in TYPES and x.priority in PRIORITIES and 0 <= x.confidence <= 1
            assert x.rule and x.title and x.description and x.recommendations
            assert any(
                isinstance(v, numbers.Number) and not isinstance(v, bool)
                for v in x.evidence.values()
            ), x.rule
            assert any(ch.isdigit() for ch in x.description), "the description states the numbers"
            assert x.rule in RULES or x.rule.startswith("anomaly_")


def test_sorted_by_priority_then_impact(
    insights: list[Insight], after_outage: list[Insight]
) -> None:
    for batch in (insights, after_outage):
        ranks = [RANK[x.priority] for x in batch]
        assert ranks == sorted(ranks, reverse=True)
        assert batch == sorted(batch, key=Insight.sort_key)


def test_planted_outage_produces_an_anomaly_or_risk_insight(
    after_outage: list[Insight], outage: dict[str, dt.datetime]
) -> None:
    day = outage["start"].date().isoformat()
    hits = [
        x for x in after_outage
        if x.type in ("anomaly", "risk") and x.rule in ("anomaly_api_error_rate", "incident_mrr") and day in x.period
    ]  # fmt: skip
    assert hits, [(x.rule, x.period) for x in after_outage]
    assert any(x.priority in ("high", "critical") for x in hits)
    assert any(x.rule == "anomaly_api_error_rate" for x in hits)


def test_insights_frame(insights: list[Insight]) -> None:
    frame = insights_frame(insights)
    assert frame.height == len(insights) and frame["id"].to_list() == [x.id for x in insights]
    assert frame["rank"].to_list() == list(range(1, len(insights) + 1))
    assert all(json.loads(e) for e in frame["evidence"])
    assert insights_frame([]).schema == frame.schema


def test_missing_health_mart_skips_its_rule(
    dbt_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = rules_module._exists
    monkeypatch.setattr(
        rules_module,
        "_exists",
        lambda s, t: False if t.endswith("fct_customer_health_current") else real(s, t),
    )
    got = generate(dbt_settings)
    assert got and all(x.rule != "customers_at_risk" for x in got)


def test_as_of_before_the_data_sees_no_future(dbt_settings: Settings) -> None:
    first = run_query(
        dbt_settings, "select min(month_start) as m from marts.fct_mrr_summary_monthly"
    )["m"][0]
    early = generate(dbt_settings, as_of=first + dt.timedelta(days=40))
    assert all(x.rule not in ("customers_at_risk", "upsell_opportunities") for x in early)
    assert isinstance(pl.DataFrame(insights_frame(early)), pl.DataFrame)
