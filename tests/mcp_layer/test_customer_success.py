"""The customer success tools and prompt through the SDK's client, in memory, checked against
independent SQL over the marts and the analytics tables."""

from __future__ import annotations

import math
from typing import Any, TypeVar

import duckdb
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference

from analytics.reports import customer_success as cs
from analytics.settings import Settings
from mcp_layer import customer_success

from .domain_client import DomainClient

T = TypeVar("T")


@pytest.fixture(scope="module")
def at_risk(dbt_settings: Settings) -> str:
    """A current customer at risk: the highest churn probability among customers the health mart
    scores today (the demo's ids follow its generator, so the tests ask the warehouse)."""
    con = duckdb.connect(str(dbt_settings.warehouse_path), read_only=True)
    try:
        (customer_id,) = con.execute("""
            select p.customer_id from analytics.churn_predictions as p
            inner join marts.fct_customer_health_current as h on h.customer_id = p.customer_id
            inner join marts.fct_usage_patterns as u on u.customer_id = p.customer_id
            order by p.churn_probability desc, p.customer_id limit 1
        """).fetchone()  # fmt: skip
    finally:
        con.close()
    return customer_id


EXAMPLE_CALLS: dict[str, dict[str, Any]] = {
    "customer_health": {"risk_levels": ["high", "critical"], "limit": 10},
    "churn_predictions": {"min_probability": 0.2, "limit": 5},
    "expansion_opportunities": {"priority": "high", "limit": 5},
    "customer_engagement": {"usage_trend": "declining", "limit": 10},
    "onboarding_status": {"limit": 5},
    "success_metrics": {"kind": "nps", "start": "2026-01-01"},
}


_with_client = DomainClient(customer_success.register).session


def _calls(settings: Settings, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    async def body(client: Client) -> list[Any]:
        return [await client.call_tool(name, args) for name, args in calls]

    return _with_client(settings, body)


def _ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    out = result.structured_content
    prov = out["provenance"]
    assert prov["sql"] and all("select" in s.lower() for s in prov["sql"]) and prov["tables"]
    assert prov["freshness"]["checked_at"]
    return out


def _first_customer(con: duckdb.DuckDBPyConnection) -> str:
    return con.execute(
        "select customer_id from marts.fct_customer_health_current order by customer_id"
    ).fetchone()[0]


def test_tools_prompt_and_schemas(dbt_settings: Settings) -> None:
    async def body(client: Client) -> tuple[Any, Any]:
        return (await client.list_tools()).tools, (await client.list_prompts()).prompts

    tools, prompts = _with_client(dbt_settings, body)
    by_name = {t.name: t for t in tools}
    assert set(by_name) == set(EXAMPLE_CALLS)
    for tool in tools:
        assert tool.description and tool.output_schema and tool.title
        assert (
            tool.annotations
            and tool.annotations.read_only_hint
            and not tool.annotations.destructive_hint
        )
        props = tool.input_schema["properties"]
        assert all(p.get("description") for name, p in props.items()), tool.name
        assert "provenance" in tool.output_schema["properties"]
    assert by_name["customer_health"].input_schema["properties"]["limit"]["maximum"] == 200
    (prompt,) = [p for p in prompts if p.name == "churn_risk_brief"]
    assert [(a.name, a.required) for a in prompt.arguments] == [("customer_id", True)]


def test_every_example_call_succeeds(dbt_settings: Settings) -> None:
    results = _calls(dbt_settings, list(EXAMPLE_CALLS.items()))
    for result in results:
        _ok(result)


def test_at_risk_customers_match_the_health_mart(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    at_risk, truncated = _calls(dbt_settings, [
        ("customer_health", {"risk_levels": ["high", "critical", "medium"], "limit": 200}),
        ("customer_health", {"limit": 3}),
    ])  # fmt: skip
    out = _ok(at_risk)
    want = warehouse.execute("""
        select customer_id, health_score, usage_score, engagement_score, support_score, billing_score, risk_level,
               trend, main_drag_factor, past_due_invoices, as_of_date
        from marts.fct_customer_health_current where risk_level <> 'low' order by health_score, customer_id
    """).fetchall()  # fmt: skip
    assert len(want) >= 2 and out["total"] == len(want) and not out["truncated"]
    assert [c["customer_id"] for c in out["customers"]] == [w[0] for w in want]
    for got, w in zip(out["customers"], want, strict=True):
        f = got["factors"]
        assert (got["health_score"], f["usage_health"], f["engagement_health"], f["support_health"],
                f["billing_health"]) == pytest.approx(w[1:6])  # fmt: skip
        assert (got["risk_level"], got["trend"], got["main_drag_factor"]) == w[6:9]
        assert got["last_updated"] == w[10].isoformat()
        rules = {r["rule"] for r in got["recommendations"]}
        assert got["recommendations"] and "nurture" not in rules
        assert ("past_due" in rules) == (w[9] > 0)
        assert ("save_plan" in rules) == (w[6] in ("high", "critical"))
        assert got["recommendations"][0]["priority"] == "high" or "high" not in {
            r["priority"] for r in got["recommendations"]
        }
    page = _ok(truncated)
    (total,) = warehouse.execute(
        "select count(*) from marts.fct_customer_health_current"
    ).fetchone()
    assert len(page["customers"]) == 3 and page["total"] == total and page["truncated"]


def test_one_customer_health_has_a_weekly_history(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    (lowest,) = warehouse.execute(
        "select customer_id from marts.fct_customer_health_current order by health_score, customer_id limit 1"
    ).fetchone()  # fmt: skip
    (result,) = _calls(dbt_settings, [("customer_health", {"customer_id": lowest})])
    out = _ok(result)
    (c,) = out["customers"]
    assert c["customer_id"] == lowest and c["risk_level"] in ("high", "critical")
    history = out["history"]
    daily = dict(warehouse.execute(
        "select cast(date_day as varchar), health_score from marts.fct_customer_health_daily where customer_id = ?",
        [lowest]).fetchall())  # fmt: skip
    # every 7th day back from the latest, 12 weeks: up to 13 points (fewer for a young customer)
    assert len(history) == len(range(0, min(len(daily), 85), 7)) >= 2
    assert history[-1]["date"] == c["last_updated"]
    for point in history:
        assert point["health_score"] == pytest.approx(daily[point["date"]])
    assert history[-1]["health_score"] == pytest.approx(c["health_score"])


def test_churn_predictions_with_mrr_at_risk_and_model_quality(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    (riskiest,) = warehouse.execute(
        "select customer_id from analytics.churn_predictions order by churn_probability desc, customer_id limit 1"
    ).fetchone()  # fmt: skip
    top, filtered, one = _calls(dbt_settings, [
        ("churn_predictions", {"limit": 5}),
        ("churn_predictions", {"min_probability": 0.2, "limit": 200}),
        ("churn_predictions", {"customer_id": riskiest}),
    ])  # fmt: skip
    out = _ok(top)
    want = warehouse.execute("""
        select p.customer_id, p.churn_probability, p.expected_days_to_churn, coalesce(m.mrr, 0)
        from analytics.churn_predictions p
        left join marts.fct_mrr_daily m on m.customer_id = p.customer_id
             and m.date_day = (select max(date_day) from marts.fct_mrr_daily)
        order by p.churn_probability desc, p.customer_id
    """).fetchall()  # fmt: skip
    assert out["total"] == len(want) and out["truncated"]
    for got, (cid, prob, days, mrr) in zip(out["predictions"], want[:5], strict=True):
        assert got["customer_id"] == cid
        assert got["churn_probability"] == pytest.approx(prob) and got[
            "time_to_churn"
        ] == pytest.approx(days)
        assert got["current_mrr"] == pytest.approx(mrr)
        assert got["expected_mrr_at_risk"] == pytest.approx(prob * mrr)
        assert all(f["contribution"] > 0 for f in got["primary_risk_factors"])
        assert got["recommended_actions"][0]["because"] == "churn_probability"
    assert out["total_expected_mrr_at_risk"] == pytest.approx(sum(p * m for _, p, _, m in want))
    quality = dict(
        warehouse.execute("select metric, value from analytics.churn_evaluation").fetchall()
    )
    assert out["model_quality"]["roc_auc"] == pytest.approx(quality["roc_auc"])
    assert out["model_quality"]["brier"] == pytest.approx(quality["brier"])
    f = _ok(filtered)
    assert f["total"] == sum(1 for w in want if w[1] >= 0.2) == len(f["predictions"])
    (p,) = _ok(one)["predictions"]
    assert p["customer_id"] == riskiest and p["churn_probability"] == pytest.approx(want[0][1])
    tier = next(name for floor, name, _ in cs.CHURN_TIERS if p["churn_probability"] >= floor)
    assert p["intervention_tier"] == tier


def test_expansion_opportunities_and_value_forecast(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection, at_risk: str
) -> None:
    listing, one = _calls(dbt_settings, [
        ("expansion_opportunities", {"priority": "high", "limit": 200}),
        ("expansion_opportunities", {"customer_id": at_risk, "horizon_months": 6}),
    ])  # fmt: skip
    out = _ok(listing)
    want = warehouse.execute("""
        select customer_id, expansion_score, current_mrr from analytics.expansion_opportunities
        where priority = 'high' order by expansion_score desc, current_mrr desc, customer_id
    """).fetchall()  # fmt: skip
    assert out["total"] == len(want) == len(out["opportunities"]) > 0
    assert [(o["customer_id"], o["expansion_score"]) for o in out["opportunities"]] == [
        (w[0], w[1]) for w in want
    ]
    vf_out = _ok(one)
    vf = vf_out["value_forecast"]
    mrr, prob = warehouse.execute("""
        select u.current_mrr, p.churn_probability from marts.fct_upsell_signals u
        join analytics.churn_predictions p using (customer_id) where customer_id = ?
    """, [at_risk]).fetchone()  # fmt: skip
    assert vf["current_mrr"] == pytest.approx(mrr) and vf["churn_probability_90d"] == pytest.approx(
        prob
    )
    lam = -math.log(1 - prob) / (90 / 30.44)
    path = [mrr * math.exp(-lam * k) * (1 + vf["monthly_expansion_rate"]) ** k for k in range(1, 7)]
    assert vf["horizon_months"] == 6
    assert vf["expected_revenue"] == pytest.approx(sum(path)) and vf[
        "expected_mrr_at_horizon"
    ] == pytest.approx(path[-1])
    assert "analytics.churn_predictions" in vf_out["provenance"]["tables"]


def test_engagement_series_and_usage_overview(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection, at_risk: str
) -> None:
    one, overview = _calls(dbt_settings, [
        ("customer_engagement", {"customer_id": at_risk, "weeks": 4}),
        ("customer_engagement", {"usage_trend": "growing", "limit": 5}),
    ])  # fmt: skip
    out = _ok(one)
    want = warehouse.execute("""
        select cast(week_start as varchar), api_requests, active_users from marts.fct_customer_engagement_weekly
        where customer_id = ? order by week_start desc limit 5
    """, [at_risk]).fetchall()[::-1]  # fmt: skip
    weeks = out["weeks"]
    assert [w["week_start"] for w in weeks] == [w[0] for w in want[1:]]
    for got, prev, cur in zip(weeks, want[:-1], want[1:], strict=True):
        assert got["api_requests"] == cur[1] and got["api_requests_change"] == cur[1] - prev[1]
        assert got["active_users_change"] == cur[2] - prev[2]
    trend = warehouse.execute(
        "select usage_trend from marts.fct_usage_patterns where customer_id = ?", [at_risk]
    )
    assert out["usage_pattern"]["usage_trend"] == trend.fetchone()[0]
    ov = _ok(overview)
    counts = dict(warehouse.execute(
        "select usage_trend, count(*) from marts.fct_usage_patterns where is_current_customer group by 1").fetchall())  # fmt: skip
    assert {r["usage_trend"]: r["customers"] for r in ov["trend_overview"]} == counts
    due = dict(warehouse.execute("""
        select u.usage_trend, count(*) from marts.fct_usage_patterns u
        left join marts.fct_customer_health_current h using (customer_id)
        where u.is_current_customer and (u.usage_trend = 'declining' or coalesce(h.risk_level, 'low') <> 'low')
        group by 1
    """).fetchall())  # fmt: skip
    assert {
        r["usage_trend"]: r["check_in_due"] for r in ov["trend_overview"] if r["check_in_due"]
    } == due
    assert ov["total"] == counts["growing"] and len(ov["accounts"]) == 5 and ov["truncated"]
    assert all(a["usage_trend"] == "growing" for a in ov["accounts"])


def test_onboarding_funnel_and_plan(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    funnel, one = _calls(dbt_settings, [
        ("onboarding_status", {"limit": 3}),
        ("onboarding_status", {"customer_id": "cus_ngejkp0Dqieu98gR"}),
    ])  # fmt: skip
    out = _ok(funnel)
    reached = dict(warehouse.execute("""
        select milestone, count(distinct organization_id) from staging.stg_supabase__onboarding_milestones group by 1
    """).fetchall())  # fmt: skip
    assert {s["milestone"]: s["accounts_reached"] for s in out["funnel"]} == reached
    (accounts,) = warehouse.execute("select count(*) from marts.fct_onboarding_progress").fetchone()
    first = out["funnel"][0]
    assert first["accounts"] == accounts and first["share_of_accounts"] == pytest.approx(
        first["accounts_reached"] / accounts
    )
    (incomplete,) = warehouse.execute(
        "select count(*) from marts.fct_onboarding_progress where not is_onboarding_complete").fetchone()  # fmt: skip
    assert out["total"] == incomplete and out["truncated"] and len(out["stalled_accounts"]) == 3
    assert sum(s["stalled_here"] for s in out["funnel"]) == incomplete
    plan_out = _ok(one)
    done = {m for (m,) in warehouse.execute("""
        select m.milestone from staging.stg_supabase__onboarding_milestones m
        join marts.dim_customers c using (organization_id) where c.customer_id = 'cus_ngejkp0Dqieu98gR'
    """).fetchall()}  # fmt: skip
    assert {p["milestone"] for p in plan_out["plan"] if p["completed"]} == done
    assert plan_out["customer"]["milestones_completed"] == len(done)


def test_success_metrics_match_the_marts(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    nps, nps_smb, adoption, ttv = _calls(dbt_settings, [
        ("success_metrics", {"kind": "nps"}),
        ("success_metrics", {"kind": "nps", "segment": "smb"}),
        ("success_metrics", {"kind": "feature_adoption", "feature": "sso", "start": "2026-01-01"}),
        ("success_metrics", {"kind": "time_to_value"}),
    ])  # fmt: skip
    for result, segment in ((nps, "all"), (nps_smb, "smb")):
        out = _ok(result)
        want = dict(warehouse.execute(
            "select cast(month_start as varchar), nps from marts.fct_nps_monthly where segment = ?", [segment]
        ).fetchall())  # fmt: skip
        got = {r["period"][:10]: r["nps"] for r in out["rows"]}
        assert got.keys() == want.keys() and len(got) >= 2
        for month, value in want.items():
            assert got[month] == pytest.approx(value, abs=0.051)
        assert out["provenance"]["metric_definitions"][0]["name"] == "nps"
    out = _ok(adoption)
    want = dict(warehouse.execute("""
        select cast(month_start as varchar), feature_users from marts.fct_feature_adoption_monthly
        where feature = 'sso' and month_start >= '2026-01-01'
    """).fetchall())  # fmt: skip
    assert {r["period"][:10]: r["feature_users"] for r in out["rows"]} == want
    out = _ok(ttv)
    want = {str(m): (med, avg) for m, med, avg in warehouse.execute(
        "select signup_month, median_time_to_value_days, avg_time_to_value_days from marts.fct_time_to_value_monthly"
    ).fetchall()}  # fmt: skip
    rows = {r["period"][:10]: r for r in out["rows"]}
    assert rows.keys() == want.keys()
    for month, (med, avg) in want.items():
        assert rows[month]["median_time_to_value_days"] == pytest.approx(med)
        if avg is not None:
            assert rows[month]["time_to_value_days"] == pytest.approx(avg, abs=0.006)


def test_churn_risk_brief_prompt_and_completions(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection, at_risk: str
) -> None:
    async def body(client: Client) -> tuple[Any, Any, str]:
        prompt = await client.get_prompt("churn_risk_brief", {"customer_id": at_risk})
        ref = PromptReference(type="ref/prompt", name="churn_risk_brief")
        done = await client.complete(ref, {"name": "customer_id", "value": at_risk[:9]})
        try:
            await client.get_prompt("churn_risk_brief", {"customer_id": at_risk[:-1] + "X"})
            error = ""
        except MCPError as exc:
            error = exc.message
        return prompt, done, error

    prompt, done, error = _with_client(dbt_settings, body)
    text = "\n".join(m.content.text for m in prompt.messages)
    score, name = warehouse.execute(
        "select health_score, customer_name from marts.fct_customer_health_current where customer_id = ?", [at_risk]
    ).fetchone()  # fmt: skip
    (prob,) = warehouse.execute(
        "select churn_probability from analytics.churn_predictions where customer_id = ?", [at_risk]).fetchone()  # fmt: skip
    assert name in text and f'"health_score": {score}' in text and repr(prob)[:8] in text
    assert "ONLY from the facts" in text and '"recent_tickets"' in text
    ids = {
        r[0] for r in warehouse.execute("select customer_id from marts.dim_customers").fetchall()
    }
    values = done.completion.values
    assert values and set(values) <= ids and all(at_risk[:9].lower() in v.lower() for v in values)
    assert at_risk in values
    assert "unknown customer_id" in error and at_risk in error


def test_bad_arguments_are_clear_tool_errors(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection, at_risk: str
) -> None:
    name = warehouse.execute(
        "select customer_name from marts.dim_customers where customer_id = ?", [at_risk]
    ).fetchone()[0]
    results = _calls(dbt_settings, [
        ("customer_health", {"customer_id": at_risk[:-1] + "X"}),
        ("churn_predictions", {"customer_id": name}),
        ("customer_health", {"limit": 10**6}),
        ("customer_health", {"segment": "smbb"}),
        ("success_metrics", {"kind": "nps", "start": "2026-06-01", "end": "2026-01-01"}),
        ("success_metrics", {"kind": "time_to_value", "segment": "smb"}),
        ("success_metrics", {"kind": "feature_adoption", "feature": "ssoo"}),
        ("churn_predictions", {"min_probability": 1.5}),
        ("customer_engagement", {"customer_id": "cus_nope", "weeks": 4}),
        ("onboarding_status", {"customer_id": at_risk, "signup_start": "2026-01-01"}),
    ])  # fmt: skip
    texts = [r.content[0].text for r in results]
    assert all(r.is_error for r in results), texts
    assert all("Traceback" not in t for t in texts)
    assert "unknown customer_id" in texts[0] and at_risk in texts[0]
    assert "is a customer name" in texts[1] and at_risk in texts[1]
    assert "limit" in texts[2]
    assert "unknown segment 'smbb'" in texts[3] and "smb" in texts[3]
    assert "after end" in texts[4]
    assert "segment applies to kind='nps'" in texts[5]
    assert "unknown feature 'ssoo'" in texts[6] and "sso" in texts[6]
    assert "min_probability" in texts[7]
    assert "unknown customer_id 'cus_nope'" in texts[8]
    assert "funnel only" in texts[9]


def test_churned_customer_ids_say_why(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    churned = warehouse.execute("""
        select customer_id from marts.dim_customers
        where customer_id not in (select customer_id from marts.fct_customer_health_current) order by 1 limit 1
    """).fetchone()  # fmt: skip
    assert churned, "the demo company has churned customers"
    (result,) = _calls(dbt_settings, [("customer_health", {"customer_id": churned[0]})])
    assert result.is_error and "not a current customer" in result.content[0].text
