"""The sales and marketing tools through the SDK's client, in memory, checked against
independent SQL over the marts and the lead-scoring output."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import duckdb
import pytest
from mcp.types import PromptReference

from analytics.settings import Settings
from mcp_layer import sales_marketing

from .domain_client import DomainClient, one_row

T = TypeVar("T")
EXAMPLE_CALLS: dict[str, dict[str, Any]] = {
    "lead_scores": {"status": "sql", "min_score": 30, "limit": 10},
    "lead_funnel": {"start": "2025-11-01", "end": "2026-10-31"},
    "campaign_performance": {"channel": "paid_search", "limit": 10},
    "sales_pipeline": {"kind": "forecast"},
}


_client = DomainClient(sales_marketing.register)
_session, _call, _ok, _error, _prompt_error = (
    _client.session, _client.call, _client.ok, _client.error, _client.prompt_error
)
_one = one_row


def test_tools_are_listed_read_only_with_described_parameters(dbt_settings: Settings) -> None:
    tools = {t.name: t for t in _session(dbt_settings, lambda c: c.list_tools()).tools}
    assert set(tools) == set(EXAMPLE_CALLS)
    for tool in tools.values():
        assert tool.description and tool.output_schema and tool.title
        assert (
            tool.annotations
            and tool.annotations.read_only_hint
            and not tool.annotations.destructive_hint
        )
        assert all(
            p.get("description") for p in tool.input_schema.get("properties", {}).values()
        ), tool.name
        assert "provenance" in tool.output_schema["properties"], tool.name


def test_every_example_call_succeeds_with_provenance(dbt_settings: Settings) -> None:
    for tool, args in EXAMPLE_CALLS.items():
        prov = _ok(dbt_settings, tool, args)["provenance"]
        assert prov["sql"] and prov["tables"] and prov["freshness"]["sources_loaded_at"], tool


def test_lead_scores_match_the_scoring_output(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(dbt_settings, "lead_scores", {"status": "sql", "min_score": 30, "limit": 5})
    want = warehouse.execute("""
        select s.lead_id, s.total_score, s.intent, s.next_actions, l.lead_source, l.employee_count
        from analytics.lead_scores as s join marts.fct_leads as l using (lead_id)
        where s.qualification_status = 'sql' and s.total_score >= 30 and l.funnel_stage <> 'customer'
        order by s.total_score desc, s.lead_id""").fetchall()  # fmt: skip
    assert out["total"] == len(want) > 5 and out["truncated"]
    assert [x["lead_id"] for x in out["leads"]] == [w[0] for w in want[:5]]
    for got, (lead_id, score, intent, actions, source, employees) in zip(
        out["leads"], want, strict=False
    ):
        assert got["total_score"] == pytest.approx(score) and got["score_breakdown"][
            "intent"
        ] == pytest.approx(intent)
        assert got["qualification_status"] == "sql" and got["next_actions"] == json.loads(actions)
        assert got["lead"]["lead_source"] == source
        expected_queue = (
            "enterprise_ae"
            if employees >= 400
            else "mid_market_ae"
            if employees >= 40
            else "smb_ae"
        )
        assert got["routing"]["queue"] == expected_queue
    quality = dict(
        warehouse.execute(
            "select metric, value from analytics.lead_scoring_evaluation where model = 'lead_scoring'"
        ).fetchall()
    )
    assert out["model_quality"]["roc_auc"] == pytest.approx(quality["roc_auc"])
    # percentile over every scored lead
    top = out["leads"][0]
    below = _one(warehouse, "select count(*) filter (where total_score < ?), count(*) from analytics.lead_scores",
                 [top["total_score"]])  # fmt: skip
    assert top["score_percentile"] == pytest.approx(below[0] / (below[1] - 1))


def test_one_lead_gives_its_sales_insight(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    lead_id, source = _one(warehouse, """
        select l.lead_id, l.lead_source from marts.fct_leads as l
        where l.opportunity_count > 0 and l.campaign_id is not null order by l.lead_id limit 1""")  # fmt: skip
    out = _ok(dbt_settings, "lead_scores", {"lead_id": lead_id})
    assert [x["lead_id"] for x in out["leads"]] == [lead_id] and out["total"] == 1
    insight = out["insight"]
    opps = warehouse.execute("select opportunity_id from marts.fct_opportunities where lead_id = ? order by created_date",
                             [lead_id]).fetchall()  # fmt: skip
    assert [o["opportunity_id"] for o in insight["opportunities"]] == [o[0] for o in opps]
    rate = _one(warehouse, "select avg(case when is_converted then 1.0 else 0 end) from marts.fct_leads "
                           "where lead_source = ?", [source])[0]  # fmt: skip
    assert insight["lead_source"] == source and insight["source_conversion_rate"] == pytest.approx(
        rate
    )
    assert insight["campaign_conversion_rate"] is not None
    text = _error(dbt_settings, "lead_scores", {"lead_id": lead_id[:8]})
    assert "unknown lead_id" in text and lead_id in text


def test_lead_funnel_matches_the_mart(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(dbt_settings, "lead_funnel", EXAMPLE_CALLS["lead_funnel"])
    leads, mqls, customers = _one(warehouse, """
        select sum(leads), sum(mqls), sum(customers) from marts.fct_funnel_monthly
        where month_start between '2025-11-01' and '2026-10-01'""")  # fmt: skip
    overall = out["overall"]
    assert overall["label"] == "all" and overall["leads"] == leads
    assert overall["lead_to_mql_rate"] == pytest.approx(mqls / leads)
    assert overall["conversion_rate"] == pytest.approx(customers / leads)
    assert len(out["by_month"]) == 12 and sum(m["leads"] for m in out["by_month"]) == leads
    by_source = dict(warehouse.execute("""
        select lead_source, sum(customers) * 1.0 / sum(opportunities) from marts.fct_funnel_monthly
        where month_start between '2025-11-01' and '2026-10-01' group by lead_source""").fetchall())  # fmt: skip
    assert {
        s["label"]: s["opportunity_to_customer_rate"] for s in out["by_source"]
    } == pytest.approx(by_source)
    one = _ok(dbt_settings, "lead_funnel", {"lead_source": "referral"})
    assert [s["label"] for s in one["by_source"]] == ["referral"] and one["overall"][
        "label"
    ] == "referral"


def test_campaign_performance_matches_the_mart(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(dbt_settings, "campaign_performance", {"channel": "paid_search", "sort": "cost_per_acquisition",
                                                     "limit": 100})  # fmt: skip
    want = warehouse.execute("""
        select campaign_id, cost_per_acquisition, (won_amount_reporting - spend_reporting) / spend_reporting
        from marts.fct_campaign_performance where channel = 'paid_search'
        order by cost_per_acquisition asc nulls last, campaign_id""").fetchall()  # fmt: skip
    assert [c["campaign_id"] for c in out["campaigns"]] == [w[0] for w in want] and not out[
        "truncated"
    ]
    for c, (_, cpa, roi) in zip(out["campaigns"], want, strict=True):
        assert c["cost_per_acquisition"] == pytest.approx(cpa) and c["roi"] == pytest.approx(roi)
    median = _one(warehouse, "select median(cost_per_acquisition) from marts.fct_campaign_performance "
                             "where channel = 'paid_search'")[0]  # fmt: skip
    assert all(c["channel_median_cpa"] == pytest.approx(median) for c in out["campaigns"])
    (channel,) = out["channels"]
    spend, conversions = _one(warehouse, "select sum(spend_reporting), sum(conversions) from "
                                         "marts.fct_campaign_performance where channel = 'paid_search'")  # fmt: skip
    assert channel["cost_per_acquisition"] == pytest.approx(spend / conversions)
    # hints: every high-CPA campaign is flagged, ranked by spend at stake
    high = {r[0]: r[1] for r in warehouse.execute("""
        select campaign_id, spend_reporting - conversions * ? from marts.fct_campaign_performance
        where channel = 'paid_search' and cost_per_acquisition > 1.5 * ?""", [median, median]).fetchall()}  # fmt: skip
    got = {h["campaign_id"]: h for h in out["optimisation_hints"] if h["hint"] == "high_cpa"}
    assert got.keys() == high.keys()
    for cid, at_stake in high.items():
        assert got[cid]["spend_at_stake"] == pytest.approx(at_stake)
    stakes = [
        h["spend_at_stake"] for h in out["optimisation_hints"] if h["hint"] != "scale_up_candidate"
    ]
    assert stakes == sorted(stakes, reverse=True)


def test_one_campaign_report(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    cid, name, leads = _one(warehouse, "select campaign_id, campaign_name, leads from marts.fct_campaign_performance "
                                       "where leads > 5 order by campaign_id limit 1")  # fmt: skip
    out = _ok(dbt_settings, "campaign_performance", {"campaign_id": cid})
    assert [c["campaign_id"] for c in out["campaigns"]] == [cid] and out["campaigns"][0][
        "leads"
    ] == leads
    assert sum(out["lead_statuses"].values()) == leads
    text = _error(dbt_settings, "campaign_performance", {"campaign_id": name})
    assert "unknown campaign_id" in text and cid in text


def test_sales_pipeline_forecast_uses_the_governed_metric(dbt_settings: Settings,
                                                          warehouse: duckdb.DuckDBPyConnection) -> None:  # fmt: skip
    out = _ok(
        dbt_settings,
        "sales_pipeline",
        {"kind": "forecast", "start": "2026-09-01", "end": "2026-10-31"},
    )
    fc = out["forecast"]
    want = {(str(m), s): w for m, s, w in warehouse.execute("""
        select month_start, stage, weighted_amount from marts.fct_pipeline_monthly
        where month_start between '2026-09-01' and '2026-10-01'""").fetchall()}  # fmt: skip
    got = {(r["period"][:10], r["stage"]): r["weighted_pipeline"] for r in fc["by_stage"]}
    assert got == pytest.approx(want)
    assert "weighted_pipeline" in {d["name"] for d in out["provenance"]["metric_definitions"]}
    deals, weighted = _one(warehouse, "select count(*), sum(weighted_amount_reporting) from marts.fct_opportunities "
                                      "where is_open")  # fmt: skip
    assert fc["open_deals"] == deals and fc["weighted_amount"] == pytest.approx(weighted)
    assert sum(m["deals"] for m in fc["by_close_month"]) == deals
    won = [r[0] for r in warehouse.execute("""
        select sum(won_amount) from marts.fct_sales_performance_monthly group by month_start
        order by month_start desc limit 3""").fetchall()]  # fmt: skip
    assert fc["avg_monthly_won_amount_3m"] == pytest.approx(sum(won) / 3)
    assert fc["coverage_vs_3m_bookings"] == pytest.approx(weighted / (sum(won) / 3))
    mine = _ok(dbt_settings, "sales_pipeline", {"kind": "forecast", "owner": "ava.chen"})
    own = _one(
        warehouse,
        "select count(*) from marts.fct_opportunities where is_open and owner = 'ava.chen'",
    )[0]
    assert mine["forecast"]["open_deals"] == own and mine["notes"]


def test_sales_performance_matches_the_mart(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(
        dbt_settings,
        "sales_pipeline",
        {"kind": "performance", "start": "2026-01-01", "end": "2026-06-30"},
    )
    want = {r[0]: r[1:] for r in warehouse.execute("""
        select owner, sum(won_amount), sum(opportunities_won) * 1.0 / (sum(opportunities_won) + sum(opportunities_lost))
        from marts.fct_sales_performance_monthly where month_start between '2026-01-01' and '2026-06-01'
        group by owner""").fetchall()}  # fmt: skip
    perf = out["performance"]
    assert {o["owner"] for o in perf["owners"]} == set(want)
    for o in perf["owners"]:
        assert o["won_amount"] == pytest.approx(want[o["owner"]][0])
        assert o["win_rate"] == pytest.approx(want[o["owner"]][1])
    amounts = [o["won_amount"] for o in perf["owners"]]
    assert amounts == sorted(amounts, reverse=True)
    assert perf["team"]["won_amount"] == pytest.approx(sum(w[0] for w in want.values()))
    assert sum(o["share_of_won_amount"] for o in perf["owners"]) == pytest.approx(1.0)
    assert len(perf["by_month"]) == 6


def test_bad_arguments_are_clear_tool_errors(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    assert "ava.chen" in _error(dbt_settings, "sales_pipeline", {"owner": "ava"})
    assert "organic" in _error(dbt_settings, "lead_funnel", {"lead_source": "organik"})
    assert "swap" in _error(
        dbt_settings, "lead_funnel", {"start": "2026-06-01", "end": "2026-01-01"}
    )
    clamped = _ok(dbt_settings, "sales_pipeline", {"kind": "performance", "start": "2020-01-01"})
    (first,) = warehouse.execute("select min(month_start) from marts.fct_sales_performance_monthly").fetchone()
    assert clamped["start_month"] == first.isoformat()  # the first month with data, not 2020
    assert "paid_search" in _error(dbt_settings, "campaign_performance", {"channel": "paid_serch"})
    assert "covers" in _error(
        dbt_settings, "sales_pipeline", {"start": "2031-01-01", "end": "2031-02-01"}
    )
    _error(dbt_settings, "lead_scores", {"limit": 10_000})
    _error(dbt_settings, "lead_scores", {"status": "hot"})
    _error(dbt_settings, "sales_pipeline", {"kind": "quota"})


def test_marketing_content_brief_prompt_renders_real_facts(dbt_settings: Settings,
                                                           warehouse: duckdb.DuckDBPyConnection) -> None:  # fmt: skip
    result = _session(dbt_settings, lambda c: c.get_prompt(
        "marketing_content_brief", {"topic": "the AI assistant", "audience_segment": "enterprise"}))  # fmt: skip
    text = result.messages[0].content.text
    assert "the AI assistant" in text and "enterprise" in text and "Use only the facts" in text
    nps = _one(warehouse, "select nps from marts.fct_nps_monthly where segment = 'enterprise' "
                          "order by month_start desc limit 1")[0]  # fmt: skip
    paying = _one(warehouse, """select count(*) from marts.fct_customer_mrr_monthly where segment = 'enterprise'
                                and end_mrr > 0 and month_start = (select max(month_start) from marts.fct_customer_mrr_monthly)""")[0]  # fmt: skip
    assert f'"nps": {nps}' in text and f'"paying_customers": {float(paying)}' in text
    feature = _one(warehouse, "select feature from marts.fct_feature_adoption_monthly order by month_start desc, "
                              "user_adoption_rate desc limit 1")[0]  # fmt: skip
    assert f'"feature": "{feature}"' in text
    message = _prompt_error(
        dbt_settings, "marketing_content_brief", {"topic": "x", "audience_segment": "enterprize"}
    )
    assert "unknown audience_segment 'enterprize'" in message and "enterprise" in message


def test_audience_segment_completions(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    result = _session(dbt_settings, lambda c: c.complete(PromptReference(type="ref/prompt", name="marketing_content_brief"),
                                                         {"name": "audience_segment", "value": "ent"}))  # fmt: skip
    assert result.completion.values == ["enterprise"]
    all_values = _session(
        dbt_settings,
        lambda c: c.complete(
            PromptReference(type="ref/prompt", name="marketing_content_brief"),
            {"name": "audience_segment", "value": ""},
        ),
    )
    segments = {
        r[0]
        for r in warehouse.execute("select distinct segment from marts.dim_customers").fetchall()
    }
    assert set(all_values.completion.values) == segments
