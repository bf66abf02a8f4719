"""The technical operations tools through the SDK's client, in memory, checked against
independent SQL over the marts."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any, TypeVar

import duckdb
import pytest
from mcp.types import PromptReference

from analytics import metrics
from analytics.settings import Settings
from mcp_layer import technical_operations

from .domain_client import DomainClient, one_row

T = TypeVar("T")
JUNE = {"start": "2026-06-01", "end": "2026-06-30"}
EXAMPLE_CALLS: dict[str, dict[str, Any]] = {
    "performance_metrics": dict(JUNE),
    "error_analysis": {**JUNE, "limit": 5},
    "capacity_forecast": {"horizon_days": 30},
    "list_incidents": {"limit": 10},
    "incident_report": {"incident_id": "INC-20260612-00", "customers_limit": 5},
}


_client = DomainClient(technical_operations.register)
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
        props = tool.input_schema.get("properties", {})
        assert all(p.get("description") for name, p in props.items()), tool.name
        assert "provenance" in tool.output_schema["properties"], tool.name


def test_every_example_call_succeeds_with_provenance(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    assert _one(warehouse, "select count(*) from marts.fct_incident_candidates where incident_id = ?",
                [EXAMPLE_CALLS["incident_report"]["incident_id"]])[0] == 1  # fmt: skip
    for tool, args in EXAMPLE_CALLS.items():
        out = _ok(dbt_settings, tool, args)
        prov = out["provenance"]
        assert prov["sql"] and all("select" in s.lower() for s in prov["sql"]), tool
        assert prov["tables"] and prov["freshness"]["sources_loaded_at"], tool


def test_performance_metrics_match_the_marts(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(dbt_settings, "performance_metrics", JUNE)
    requests, errors, ok = _one(warehouse, """
        select sum(requests), sum(errors), sum(successful_requests)
        from marts.fct_api_metrics_daily where date_day between '2026-06-01' and '2026-06-30'""")  # fmt: skip
    app = out["application"]
    assert out["window"]["start"] == "2026-06-01" and out["window"]["end"] == "2026-06-30"
    assert app["throughput"]["requests"] == pytest.approx(float(requests))
    assert app["error_rates"]["errors"] == pytest.approx(float(errors))
    assert app["error_rates"]["error_rate"] == pytest.approx(float(errors) / float(requests))
    assert app["availability"] == pytest.approx(float(ok) / float(requests))
    # response times are the governed percentiles of June (one definition: merged histogram buckets),
    # for the platform and per endpoint, not a second figure averaged from daily percentiles
    latency = ["p50_latency", "p95_latency", "p99_latency"]
    june = metrics.query(latency, grain="month", start="2026-06-01", end="2026-06-30", settings=dbt_settings).data
    assert june.height == 1
    assert [app["response_times"][f"p{q}_ms"] for q in (50, 95, 99)] == pytest.approx(list(june.select(latency).row(0)), rel=1e-9)
    by_endpoint = metrics.query("p95_latency", grain="month", dimensions=["endpoint"], start="2026-06-01",
                                end="2026-06-30", settings=dbt_settings).data  # fmt: skip
    governed = dict(zip(by_endpoint["endpoint"], by_endpoint["p95_latency"], strict=True))
    assert {e["endpoint"]: e["latency_p95_ms"] for e in out["endpoints"]} == pytest.approx(governed, rel=1e-9)
    assert app["throughput"]["avg_requests_per_day"] == pytest.approx(float(requests) / 30)
    # the June outage breached every endpoint's error rate once
    breach_days = _one(warehouse, "select count(*) from marts.fct_api_metrics_daily where is_error_rate_breach "
                                  "and date_day between '2026-06-01' and '2026-06-30'")[0]  # fmt: skip
    assert app["error_rates"]["error_rate_breach_days"] == breach_days > 0
    # per endpoint
    want = dict(warehouse.execute("""
        select endpoint, sum(errors) * 1.0 / sum(requests) from marts.fct_api_metrics_daily
        where date_day between '2026-06-01' and '2026-06-30' group by endpoint""").fetchall())  # fmt: skip
    got = {e["endpoint"]: e["error_rate"] for e in out["endpoints"]}
    assert got.keys() == want.keys()
    for endpoint, rate in want.items():
        assert got[endpoint] == pytest.approx(rate), endpoint
    # system: per service and overall CPU from the hourly mart
    cpu = dict(warehouse.execute("""
        select service, avg(cpu_pct) from marts.fct_service_utilisation_hourly
        where metric_date between '2026-06-01' and '2026-06-30' group by service""").fetchall())  # fmt: skip
    services = {s["service"]: s for s in out["system"]["services"]}
    assert services.keys() == cpu.keys()
    for service, value in cpu.items():
        assert services[service]["avg_cpu_pct"] == pytest.approx(value)
        assert services[service]["hours"] == 30 * 24
    overall = _one(warehouse, "select avg(cpu_pct) from marts.fct_service_utilisation_hourly "
                              "where metric_date between '2026-06-01' and '2026-06-30'")[0]  # fmt: skip
    assert out["system"]["cpu_usage"] == pytest.approx(overall)
    assert out["system"]["disk_usage"] is None and out["database"]["measured"] is False
    # governed trend: one row per day with the ratio-of-sums error rate
    trend = out["trend"]
    assert trend["grain"] == "day" and len(trend["rows"]) == 30
    day = {r["period"][:10]: r for r in trend["rows"]}["2026-06-12"]
    e12, r12 = _one(warehouse, "select sum(errors), sum(requests) from marts.fct_api_metrics_daily "
                               "where date_day = '2026-06-12'")  # fmt: skip
    assert day["error_rate"] == pytest.approx(float(e12) / float(r12))
    assert {d["name"] for d in out["provenance"]["metric_definitions"]} == {
        "api_requests",
        "error_rate",
        "p95_latency",
    }


def test_performance_metrics_for_one_endpoint_and_default_window(dbt_settings: Settings,
                                                                 warehouse: duckdb.DuckDBPyConnection) -> None:  # fmt: skip
    out = _ok(dbt_settings, "performance_metrics", {"endpoint": "/v1/export"})
    last = _one(warehouse, "select max(date_day) from marts.fct_api_metrics_daily")[0]
    start = last - dt.timedelta(days=29)
    assert out["window"]["end"] == last.isoformat() and out["window"]["start"] == start.isoformat()
    requests = _one(warehouse, "select sum(requests) from marts.fct_api_metrics_daily "
                               "where endpoint = '/v1/export' and date_day between ? and ?", [start, last])[0]  # fmt: skip
    assert out["endpoint"] == "/v1/export"
    assert out["application"]["throughput"]["requests"] == pytest.approx(float(requests))
    assert [e["endpoint"] for e in out["endpoints"]] == ["/v1/export"]


def test_error_analysis_matches_the_marts(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(dbt_settings, "error_analysis", {**JUNE, "limit": 3})
    accounts = warehouse.execute("""
        select organization_id, sum(errors) as e, sum(requests) as r
        from marts.fct_api_metrics_account_daily where date_day between '2026-06-01' and '2026-06-30'
        group by organization_id order by e desc, organization_id""").fetchall()  # fmt: skip
    total_errors = sum(float(a[1]) for a in accounts)
    total_requests = sum(float(a[2]) for a in accounts)
    assert out["accounts_total"] == len(accounts) and out["accounts_truncated"]
    assert [a["organization_id"] for a in out["worst_accounts"]] == [a[0] for a in accounts[:3]]
    top = out["worst_accounts"][0]
    assert top["errors"] == pytest.approx(float(accounts[0][1]))
    assert out["worst_account_share"] == pytest.approx(float(accounts[0][1]) / total_errors)
    assert out["error_rate_without_worst_account"] == pytest.approx(
        (total_errors - float(accounts[0][1])) / (total_requests - float(accounts[0][2]))
    )
    assert out["errors"] == pytest.approx(total_errors)
    # by endpoint: errors and the daily-worst-account share
    want = {r[0]: r[1:] for r in warehouse.execute("""
        select endpoint, sum(errors), sum(worst_account_errors) * 1.0 / sum(errors)
        from marts.fct_api_metrics_daily where date_day between '2026-06-01' and '2026-06-30'
        group by endpoint""").fetchall()}  # fmt: skip
    for e in out["by_endpoint"]:
        assert e["errors"] == pytest.approx(float(want[e["endpoint"]][0]))
        assert e["share_from_daily_worst_account"] == pytest.approx(want[e["endpoint"]][1])
    assert sum(e["share_of_all_errors"] for e in out["by_endpoint"]) == pytest.approx(1.0)
    breaches = warehouse.execute("""
        select date_day, endpoint from marts.fct_api_metrics_daily
        where date_day between '2026-06-01' and '2026-06-30' and (is_error_rate_breach or is_latency_breach)
        order by date_day desc, endpoint""").fetchall()  # fmt: skip
    assert out["breach_days_total"] == len(breaches) > 3 and out["breach_days_truncated"]
    assert [(b["date"], b["endpoint"]) for b in out["breach_days"]] == [
        (d.isoformat(), e) for d, e in breaches[:3]
    ]


def test_capacity_forecast_matches_the_stored_summary(dbt_settings: Settings,
                                                      warehouse: duckdb.DuckDBPyConnection) -> None:  # fmt: skip
    horizon = _one(
        warehouse,
        "select min(n) from (select count(*) as n from analytics.capacity_forecast group by service)",
    )[0]
    result = _call(dbt_settings, "capacity_forecast", {"horizon_days": horizon})
    assert not result.is_error, result.content[0].text
    out = result.structured_content
    image = [c for c in result.content if c.type == "image"]
    assert image and base64.b64decode(image[0].data).startswith(b"\x89PNG")
    # over the stored horizon the crossing dates and statuses are the pipeline's own
    stored = {r[0]: r[1:] for r in warehouse.execute(
        "select service, status, crosses_on, crosses_on_upper, last_utilisation, threshold from analytics.capacity_summary"
    ).fetchall()}  # fmt: skip
    got = {s["service"]: s for s in out["services"]}
    assert got.keys() == stored.keys()
    for service, (status, crosses, upper, last, threshold) in stored.items():
        s = got[service]
        assert s["status"] == status, service
        assert s["crosses_on"] == (crosses.isoformat() if crosses else None)
        assert s["crosses_on_upper"] == (upper.isoformat() if upper else None)
        assert s["headroom_to_threshold"] == pytest.approx(threshold - last)
    assert {e["service"] for e in out["scaling_plan"]} == {
        k for k, v in stored.items() if v[0] != "ok"
    }
    assert (
        out["charted_service"] == out["services"][0]["service"] and len(out["forecast"]) == horizon
    )
    # resource optimisation: cost per 1,000 requests over the last 30 days
    last = _one(warehouse, "select max(date_day) from marts.fct_cost_per_request_daily")[0]
    want = dict(warehouse.execute("""
        select service, 1000 * sum(cost_usd) / sum(requests_served) from marts.fct_cost_per_request_daily
        where date_day between ? and ? group by service""", [last - dt.timedelta(days=29), last]).fetchall())  # fmt: skip
    for row in out["resource_optimisation"]:
        assert row["cost_per_1000_requests_usd"] == pytest.approx(want[row["service"]]), row[
            "service"
        ]


def test_capacity_forecast_short_horizon_and_one_service(dbt_settings: Settings,
                                                         warehouse: duckdb.DuckDBPyConnection) -> None:  # fmt: skip
    out = _ok(dbt_settings, "capacity_forecast", {"service": "query-engine", "horizon_days": 7})
    assert [s["service"] for s in out["services"]] == ["query-engine"] and len(out["forecast"]) == 7
    peak = _one(warehouse, """
        select max(yhat) from (select yhat from analytics.capacity_forecast where service = 'query-engine'
                               order by ds limit 7)""")[0]  # fmt: skip
    assert out["services"][0]["peak_forecast"] == pytest.approx(peak)


def test_list_incidents_ranks_for_triage_with_impact(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(dbt_settings, "list_incidents", {})
    rows = warehouse.execute("""
        select incident_id, severity, mrr_affected, customers_affected from marts.fct_incident_candidates
        order by severity_rank desc, mrr_affected desc""").fetchall()  # fmt: skip
    assert out["total"] == len(rows) and not out["truncated"]
    assert [i["id"] for i in out["incidents"]] == [
        r[0] for r in rows
    ]  # all resolved: severity, then MRR
    assert [i["triage_rank"] for i in out["incidents"]] == list(range(1, len(rows) + 1))
    by_id = {i["id"]: i for i in out["incidents"]}
    for incident_id, severity, mrr, customers in rows:
        i = by_id[incident_id]
        assert i["severity"] == severity and i["status"] == "resolved"
        assert i["impact_assessment"]["revenue_impact"] == pytest.approx(mrr)
        assert i["impact_assessment"]["customers_affected"] == customers
    outage = by_id["INC-20260612-00"]
    assert outage["impact_assessment"]["reputation_risk"] == "high" and outage["is_platform_wide"]
    assert "platform-wide" in outage["title"] and len(outage["affected_endpoints"]) == 5
    high = _ok(dbt_settings, "list_incidents", {"severity": "high"})
    assert [i["id"] for i in high["incidents"]] == [r[0] for r in rows if r[1] == "high"]
    june = _ok(dbt_settings, "list_incidents", {"since": "2026-06-01", "until": "2026-06-30"})
    assert [i["id"] for i in june["incidents"]] == ["INC-20260612-00"]
    one = _ok(dbt_settings, "list_incidents", {"limit": 1})
    assert len(one["incidents"]) == 1 and one["total"] == len(rows) and one["truncated"]


def test_incident_report_has_timeline_customers_and_response(dbt_settings: Settings,
                                                             warehouse: duckdb.DuckDBPyConnection) -> None:  # fmt: skip
    # an infrastructure-only incident: affected customers are those with errors that day (any endpoint)
    surge = _surge_incident(warehouse)
    out = _ok(dbt_settings, "incident_report", {"incident_id": surge, "customers_limit": 3})
    inc = out["incident"]
    customers, mrr = _one(warehouse, "select customers_affected, mrr_affected from marts.fct_incident_candidates "
                                     "where incident_id = ?", [surge])  # fmt: skip
    assert inc["affected_services"] == ["report-renderer"] and inc["affected_endpoints"] == []
    assert out["customers_total"] == customers and out["customers_mrr"] == pytest.approx(mrr)
    assert len(out["affected_customers"]) == 3 and out["customers_truncated"]
    top = _one(warehouse, """
        select max(m.mrr) from marts.fct_api_metrics_account_daily as a
        join marts.dim_customers as c on c.organization_id = a.organization_id
        join marts.fct_mrr_daily as m on m.customer_id = c.customer_id and m.date_day = '2026-07-27'
        where a.date_day = '2026-07-27' and a.errors > 0""")[0]  # fmt: skip
    assert out["affected_customers"][0]["mrr"] == pytest.approx(top)
    # hourly timeline: the incident's hours plus 2 either side for the one service
    (hours,) = _one(warehouse, "select duration_hours from marts.fct_incident_candidates where incident_id = ?", [surge])
    assert len(out["timeline"]) == hours + 4 and sum(t["in_incident"] for t in out["timeline"]) == hours
    peak = _one(warehouse, """
        select max(u.cpu_pct), max(u.instances) from marts.fct_service_utilisation_hourly as u
        join marts.fct_incident_candidates as i on i.incident_id = ?
        where u.service = 'report-renderer' and u.metric_hour >= i.started_at and u.metric_hour < i.ended_at""",
        [surge])  # fmt: skip
    (response,) = out["response"]
    assert (
        response["peak_cpu_pct_during"] == pytest.approx(peak[0])
        and response["max_instances_during"] == peak[1]
    )
    assert len(out["endpoint_days"]) == 5  # every endpoint's day (no endpoint breached)


def test_bad_arguments_are_clear_tool_errors(dbt_settings: Settings) -> None:
    text = _error(dbt_settings, "incident_report", {"incident_id": "INC-2026061"})
    assert "unknown incident_id 'INC-2026061'" in text and "INC-20260612-00" in text
    assert "swap" in _error(
        dbt_settings, "performance_metrics", {"start": "2026-06-30", "end": "2026-06-01"}
    )
    assert "/v1/query" in _error(dbt_settings, "performance_metrics", {"endpoint": "/v1/qery"})
    assert "covers" in _error(
        dbt_settings, "error_analysis", {"start": "2030-01-01", "end": "2030-02-01"}
    )
    text = _error(dbt_settings, "capacity_forecast", {"horizon_days": 300})
    assert "at most" in text
    assert "query-engine" in _error(dbt_settings, "capacity_forecast", {"service": "query-engin"})
    _error(dbt_settings, "error_analysis", {"limit": 100000})
    _error(dbt_settings, "list_incidents", {"severity": "catastrophic"})
    assert "swap" in _error(
        dbt_settings, "list_incidents", {"since": "2026-07-01", "until": "2026-06-01"}
    )


def test_incident_summary_prompt_renders_real_numbers(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    result = _session(
        dbt_settings, lambda c: c.get_prompt("incident_summary", {"incident_id": "INC-20260612-00"})
    )
    text = result.messages[0].content.text
    customers, paying = _one(warehouse, "select customers_affected, paying_customers_affected "
                                        "from marts.fct_incident_candidates where incident_id = 'INC-20260612-00'")  # fmt: skip
    assert "INC-20260612-00" in text and "Use only the facts" in text
    assert (
        f'"customers_affected": {customers}' in text
        and f'"paying_customers_affected": {paying}' in text
    )
    assert "select" in text.lower() and "marts.fct_incident_candidates" in text
    message = _prompt_error(dbt_settings, "incident_summary", {"incident_id": "INC-1"})
    assert "unknown incident_id 'INC-1'" in message and "INC-20260612-00" in message


def _surge_incident(warehouse: duckdb.DuckDBPyConnection) -> str:
    """The report-renderer incident on the first day of the planted usage surge (its id carries
    a sequence number that moves with the other incidents)."""
    (incident_id,) = warehouse.execute(
        "select incident_id from marts.fct_incident_candidates where incident_id like 'INC-20260727-%' "
        "order by incident_id limit 1"
    ).fetchone()  # fmt: skip
    return incident_id


def test_incident_id_completions(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    result = _session(dbt_settings, lambda c: c.complete(PromptReference(type="ref/prompt", name="incident_summary"),
                                                         {"name": "incident_id", "value": "INC-202607"}))  # fmt: skip
    values = result.completion.values
    assert values and all(v.startswith("INC-202607") for v in values)
    assert _surge_incident(warehouse) in values
