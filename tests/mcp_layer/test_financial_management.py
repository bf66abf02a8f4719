"""The financial management tools through the SDK's in-memory client, checked against direct SQL
over the marts (independent queries, not the tools' own SQL)."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pytest
import yaml
from mcp import Client

from analytics.reports import finance
from analytics.settings import Settings
from mcp_layer import financial_management

from .domain_client import DomainClient

T = TypeVar("T")

# One valid call per tool (imported by the gateway's stdio test and the contract snapshot).
EXAMPLE_CALLS: dict[str, dict[str, Any]] = {
    "calculate_mrr": {"breakdown": "segment"},
    "revenue_recognition": {"start": "2026-01-01", "end": "2026-06-30"},
    "revenue_report": {
        "kind": "subscription_changes",
        "start": "2026-07-01",
        "end": "2026-09-30",
        "limit": 10,
    },
    "forecast_revenue": {"horizon_months": 6, "scenarios": ["base", "pessimistic"]},
    "cash_flow_projection": {"months": 6},
    "ltv_analysis": {"months": 6},
    "payment_recovery": {"status": "unpaid", "limit": 20},
    "financial_statements": {"kind": "pnl", "start": "2026-01-01", "end": "2026-06-30"},
}


_with_client = DomainClient(financial_management.register).session


def _call(settings: Settings, tool: str, args: dict[str, Any] | None = None) -> Any:
    return _with_client(settings, lambda c: c.call_tool(tool, args or {}))


def _ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content
    out = result.structured_content
    assert (
        out["provenance"]["sql"] and out["provenance"]["tables"] and out["provenance"]["freshness"]
    )
    return out


def _error_text(result: Any) -> str:
    assert result.is_error
    text = result.content[0].text
    assert "Traceback" not in text
    return text


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    cur = con.execute(sql, list(params))
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def test_tools_are_listed_with_schemas_and_read_only_annotations(dbt_settings: Settings) -> None:
    tools = {t.name: t for t in _with_client(dbt_settings, lambda c: c.list_tools()).tools}
    assert set(tools) == set(EXAMPLE_CALLS) and len(tools) <= 8
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


def test_every_example_call_succeeds(dbt_settings: Settings) -> None:
    async def body(client: Client) -> list[Any]:
        return [await client.call_tool(name, args) for name, args in EXAMPLE_CALLS.items()]

    for name, result in zip(EXAMPLE_CALLS, _with_client(dbt_settings, body), strict=True):
        assert not result.is_error, (name, result.content)


def test_calculate_mrr_latest_month_matches_the_customer_mart(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(_call(dbt_settings, "calculate_mrr", {"breakdown": "segment"}))
    want = _rows(
        warehouse,
        """
        select month_start, sum(start_mrr) s, sum(end_mrr) e, sum(new_mrr) n, sum(expansion_mrr) x,
               sum(contraction_mrr) c, sum(churned_mrr) ch, sum(reactivation_mrr) r, sum(is_paying_end) p
        from marts.fct_customer_mrr_monthly
        where month_start = (select max(month_start) from marts.fct_customer_mrr_monthly) group by 1""",
    )[0]
    assert out["month"] == str(want["month_start"])
    assert out["mrr"] == pytest.approx(want["e"]) and out["ending_mrr"] == pytest.approx(want["e"])
    assert out["arr"] == pytest.approx(12 * want["e"])
    assert out["starting_mrr"] == pytest.approx(want["s"]) and out["paying_customers"] == want["p"]
    assert out["arpa"] == pytest.approx(want["e"] / want["p"])
    mv = out["movements"]
    assert (mv["new"], mv["expansion"], mv["reactivation"]) == pytest.approx(
        (want["n"], want["x"], want["r"])
    )
    assert (abs(mv["contraction"]), abs(mv["churned"])) == pytest.approx(
        (abs(want["c"]), abs(want["ch"]))
    )
    # the bridge identity holds on what the tool returned
    assert out["starting_mrr"] + mv["net_new"] == pytest.approx(out["ending_mrr"])
    by_seg = {r["segment"]: r for r in _rows(warehouse, """
        select segment, sum(end_mrr) e, sum(start_mrr) s, sum(is_paying_end) p from marts.fct_customer_mrr_monthly
        where month_start = ? group by 1""", dt.date.fromisoformat(out["month"]))}  # fmt: skip
    got = {r["key"]: r for r in out["breakdown"]}
    assert got.keys() == by_seg.keys() and out["breakdown_by"] == "segment"
    for seg, w in by_seg.items():
        assert got[seg]["mrr"] == pytest.approx(w["e"]) and got[seg][
            "starting_mrr"
        ] == pytest.approx(w["s"])
        assert got[seg]["paying_customers"] == w["p"]
    mrrs = [r["mrr"] for r in out["breakdown"]]
    assert mrrs == sorted(mrrs, reverse=True)
    assert {d["name"] for d in out["provenance"]["metric_definitions"]} >= {"mrr", "arr", "arpa"}


def test_calculate_mrr_for_a_past_month_by_plan_tier(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(
        _call(dbt_settings, "calculate_mrr", {"date": "2026-03-17", "breakdown": "plan_tier"})
    )
    assert out["month"] == "2026-03-01"
    want = dict(warehouse.execute("""select plan_tier, sum(end_mrr) from marts.fct_customer_mrr_monthly
                                     where month_start = date '2026-03-01' group by 1""").fetchall())  # fmt: skip
    got = {r["key"]: r["mrr"] for r in out["breakdown"]}
    assert got == pytest.approx(want)
    summary = warehouse.execute("select ending_mrr, nrr_12m from marts.fct_mrr_summary_monthly "
                                "where month_start = date '2026-03-01'").fetchone()  # fmt: skip
    assert out["mrr"] == pytest.approx(summary[0]) and out["nrr_12m"] == pytest.approx(summary[1])


def test_revenue_recognition_by_month_and_day(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(
        _call(dbt_settings, "revenue_recognition", {"start": "2026-01-10", "end": "2026-06-30"})
    )
    daily = {r["m"]: r for r in _rows(warehouse, """
        select month_start m, sum(recognized_usd) rec, sum(invoiced_usd) inv,
               sum(deferred_balance_usd) filter (where date_day = (select max(date_day)
                   from marts.fct_revenue_recognition_daily d2 where d2.month_start = d.month_start)) closing
        from marts.fct_revenue_recognition_daily d
        where month_start between date '2026-01-01' and date '2026-06-01' group by 1""")}  # fmt: skip
    assert [p["period"] for p in out["periods"]] == [str(m) for m in sorted(daily)]
    for p in out["periods"]:
        w = daily[dt.date.fromisoformat(p["period"])]
        assert p["recognized_usd"] == pytest.approx(w["rec"]) and p[
            "invoiced_usd"
        ] == pytest.approx(w["inv"])
        assert p["deferred_closing_usd"] == pytest.approx(w["closing"], rel=1e-6)
        assert p["recognized_usd"] + p["deferred_change_usd"] == pytest.approx(
            p["invoiced_usd"], abs=0.05
        )
    t = out["totals"]
    assert t["months"] == 6 and t["recognized_usd"] == pytest.approx(
        sum(w["rec"] for w in daily.values())
    )
    assert t["deferred_closing_usd"] - t["deferred_opening_usd"] == pytest.approx(
        t["deferred_change_usd"], abs=0.05
    )

    day = _ok(
        _call(
            dbt_settings,
            "revenue_recognition",
            {"start": "2026-10-01", "end": "2026-10-07", "grain": "day"},
        )
    )
    want = dict(warehouse.execute("""select date_day, sum(recognized_usd) from marts.fct_revenue_recognition_daily
                                     where date_day between date '2026-10-01' and date '2026-10-07' group by 1""").fetchall())  # fmt: skip
    assert {
        dt.date.fromisoformat(p["period"]): p["recognized_usd"] for p in day["periods"]
    } == pytest.approx(want)
    assert {d["name"] for d in day["provenance"]["metric_definitions"]} == {"recognized_revenue", "invoiced_revenue",
                                                                           "deferred_revenue"}  # fmt: skip


def test_revenue_report_summary_and_subscription_changes(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    summary = _ok(
        _call(
            dbt_settings,
            "revenue_report",
            {"kind": "summary", "start": "2026-04-01", "end": "2026-09-30"},
        )
    )
    want = dict(warehouse.execute("""select month_start, net_new_mrr from marts.fct_mrr_summary_monthly
                                     where month_start between date '2026-04-01' and date '2026-09-01'""").fetchall())  # fmt: skip
    assert {
        dt.date.fromisoformat(r["month_start"]): r["net_new_mrr"] for r in summary["rows"]
    } == pytest.approx(want)
    usage = warehouse.execute("""select sum(amount_usd) from marts.fct_usage_charges_monthly
                                 where month_start between date '2026-04-01' and date '2026-09-01'""").fetchone()[0]  # fmt: skip
    assert summary["totals"][0]["usage_charges_usd"] == pytest.approx(usage)
    assert sum(r["usage_charges_usd"] for r in summary["rows"]) == pytest.approx(usage)

    changes = _ok(_call(dbt_settings, "revenue_report", {"kind": "subscription_changes", "start": "2026-04-01",
                                                          "end": "2026-09-30", "limit": 5}))  # fmt: skip
    n, biggest = warehouse.execute("""
        select count(*), max(abs(net_change_mrr)) from marts.fct_customer_mrr_monthly
        where month_start between date '2026-04-01' and date '2026-09-01'
          and movement_type in ('new', 'expansion', 'contraction', 'churn', 'reactivation')""").fetchone()  # fmt: skip
    assert changes["total_rows"] == n and len(changes["rows"]) == 5 and changes["truncated"]
    assert abs(changes["rows"][0]["net_change_mrr"]) == pytest.approx(biggest)
    assert sum(t["changes"] for t in changes["totals"]) == n


def test_revenue_report_usage_and_invoices_for_one_customer(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    cust, total = warehouse.execute("""select customer_id, sum(amount_usd) from marts.fct_usage_charges_monthly
                                       group by 1 order by 2 desc limit 1""").fetchone()  # fmt: skip
    out = _ok(_call(dbt_settings, "revenue_report", {"kind": "usage_charges", "customer_id": cust,
                                                      "start": "2024-01-01", "end": "2026-12-31"}))  # fmt: skip
    assert {r["customer_id"] for r in out["rows"]} == {cust} and not out["truncated"]
    assert out["totals"][0]["amount_usd"] == pytest.approx(total)
    assert sum(r["amount_usd"] for r in out["rows"]) == pytest.approx(total)

    inv = _ok(_call(dbt_settings, "revenue_report", {"kind": "invoices", "start": "2026-10-01", "end": "2026-10-31",
                                                      "limit": 3}))  # fmt: skip
    by_status = dict(warehouse.execute("""select status, count(*) from marts.fct_invoices
                                          where invoice_date between date '2026-10-01' and date '2026-10-31'
                                          group by 1""").fetchall())  # fmt: skip
    assert {t["status"]: t["invoices"] for t in inv["totals"]} == by_status
    assert (
        inv["total_rows"] == sum(by_status.values()) and len(inv["rows"]) == 3 and inv["truncated"]
    )


def test_forecast_revenue_with_scenarios_backtest_and_chart(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    result = _with_client(dbt_settings, lambda c: c.call_tool(
        "forecast_revenue", {"horizon_months": 12, "scenarios": ["base", "optimistic"]}, progress_callback=on_progress))  # fmt: skip
    out = _ok(result)
    fc = dict(
        warehouse.execute(
            "select ds, yhat from analytics.forecasts where series = 'mrr'"
        ).fetchall()
    )
    assert {dt.date.fromisoformat(p["ds"]): p["yhat"] for p in out["forecast"]} == pytest.approx(fc)
    assert len(out["forecast"]) == min(12, len(fc))
    if len(fc) < 12:
        assert any("statistical forecast covers" in n for n in out["notes"])
    scen = warehouse.execute(
        "select ds, base, optimistic from analytics.revenue_scenarios order by ds limit 12"
    ).fetchall()
    assert [(p["ds"], p["base"], p["optimistic"]) for p in out["scenarios"]] == [
        (str(d), pytest.approx(b), pytest.approx(o)) for d, b, o in scen
    ]
    assert all(p["pessimistic"] is None for p in out["scenarios"])
    method, mae = warehouse.execute("select method, mae from analytics.forecast_backtests "
                                    "where series = 'mrr' and is_chosen").fetchone()  # fmt: skip
    assert out["backtest_chosen"]["method"] == method == out["method"]
    assert out["backtest_chosen"]["mae"] == pytest.approx(mae)
    a = out["scenario_assumptions"]
    assert 0 <= a["churn_rate"] < 1 and a["new_mrr"] > 0
    assert progress and progress[-1][0] == progress[-1][1]
    image = [c for c in result.content if c.type == "image"]
    assert image and base64.b64decode(image[0].data)[:8] == b"\x89PNG\r\n\x1a\n"


def test_cash_flow_projection_matches_the_projection_table(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(_call(dbt_settings, "cash_flow_projection", {"months": 4}))
    rows = warehouse.execute("select ds, net_cash_flow, ending_cash from analytics.cash_flow_projection "
                             "order by ds limit 4").fetchall()  # fmt: skip
    assert [m["ds"] for m in out["months"]] == [str(r[0]) for r in rows]
    assert out["totals"]["net_cash_flow"] == pytest.approx(sum(r[1] for r in rows))
    assert out["totals"]["ending_cash"] == pytest.approx(rows[-1][2])
    assert out["totals"]["lowest_ending_cash"] == pytest.approx(min(r[2] for r in rows))
    assert out["assumptions"]["collection_rate"] == pytest.approx(0.97)


def test_ltv_analysis_company_and_segments(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(_call(dbt_settings, "ltv_analysis", {"months": 3}))
    mart = _rows(warehouse, """select month_start, ltv_usd, cac_usd, payback_months, ltv_to_cac, is_churn_floored
                               from marts.fct_unit_economics_monthly order by month_start desc limit 3""")[::-1]  # fmt: skip
    assert [m["month"] for m in out["months"]] == [str(r["month_start"]) for r in mart]
    for got, want in zip(out["months"], mart, strict=True):
        assert got["ltv_usd"] == pytest.approx(want["ltv_usd"]) and got["cac_usd"] == pytest.approx(
            want["cac_usd"]
        )
        assert got["payback_months"] == pytest.approx(want["payback_months"])
        assert got["is_churn_floored"] == want["is_churn_floored"]
    assert out["latest"] == out["months"][-1]
    month = dt.date.fromisoformat(out["month"])
    smb = warehouse.execute("""select sum(end_mrr), sum(is_paying_end) from marts.fct_customer_mrr_monthly
                               where month_start = ? and segment = 'smb'""", [month]).fetchone()  # fmt: skip
    churn = warehouse.execute("""
        select sum(case when movement_type = 'churn' then 1 else 0 end) * 1.0 / sum(is_paying_start)
        from marts.fct_customer_mrr_monthly
        where segment = 'smb' and month_start between ? - interval 2 month and ?""", [month, month]).fetchone()[0]  # fmt: skip
    gm = warehouse.execute("select gross_margin_pct from marts.fct_unit_economics_monthly where month_start = ?",
                           [month]).fetchone()[0]  # fmt: skip
    seg = {s["segment"]: s for s in out["segments"]}["smb"]
    assert seg["arpa"] == pytest.approx(smb[0] / smb[1])
    used = max(churn, finance.LTV_MIN_MONTHLY_CHURN)
    assert seg["churn_rate_used"] == pytest.approx(used)
    assert seg["ltv_usd"] == pytest.approx(smb[0] / smb[1] * gm / used)
    only = _ok(_call(dbt_settings, "ltv_analysis", {"segment": "enterprise", "months": 1}))
    assert [s["segment"] for s in only["segments"]] == ["enterprise"] and len(only["months"]) == 1


def test_ltv_floor_is_the_dbt_var() -> None:
    project = yaml.safe_load(
        (Path(__file__).parents[2] / "dbt_project" / "dbt_project.yml").read_text()
    )
    assert project["vars"]["ltv_min_monthly_churn"] == finance.LTV_MIN_MONTHLY_CHURN


def test_payment_recovery_recommends_an_action_per_customer(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    out = _ok(_call(dbt_settings, "payment_recovery"))
    unpaid = _rows(warehouse, """select customer_id, status, amount_remaining_usd from marts.fct_invoices
                                 where has_failed_payment and not is_paid and status <> 'void'""")  # fmt: skip
    assert out["total"] == len({r["customer_id"] for r in unpaid}) == len(out["actions"])
    assert out["totals"]["amount_at_risk_usd"] == pytest.approx(
        sum(r["amount_remaining_usd"] for r in unpaid)
    )
    assert sum(a["amount_at_risk_usd"] for a in out["actions"]) == pytest.approx(
        out["totals"]["amount_at_risk_usd"]
    )
    uncollectible = {r["customer_id"] for r in unpaid if r["status"] == "uncollectible"}
    for a in out["actions"]:
        assert a["action"] in {
            "retry_payment",
            "update_payment_method",
            "apply_grace_period",
            "suspend_service",
        }
        assert a["communication_sent"] is False and a["schedule"]
        if a["customer_id"] in uncollectible:
            assert a["action"] == "suspend_service" and a["result"] == "failed"
        else:
            assert a["result"] == "pending"
    assert sum(out["totals"]["actions"].values()) == out["totals"]["customers"]
    assert any("suspend_service" in rule for rule in out["rules"])
    recovered = _ok(_call(dbt_settings, "payment_recovery", {"status": "recovered", "limit": 2}))
    n = warehouse.execute("select count(distinct customer_id) from marts.fct_invoices "
                          "where has_failed_payment and is_paid").fetchone()[0]  # fmt: skip
    assert recovered["total"] == n and recovered["truncated"] == (n > 2)
    assert all(a["action"] is None and a["result"] == "success" for a in recovered["actions"])


def test_financial_statements_pnl_and_budget(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    pnl = _ok(
        _call(
            dbt_settings,
            "financial_statements",
            {"kind": "pnl", "start": "2026-01-01", "end": "2026-06-30"},
        )
    )
    rev, gp = warehouse.execute("""select sum(revenue_usd), sum(gross_profit_usd) from marts.fct_pnl_monthly
                                   where month_start between date '2026-01-01' and date '2026-06-01'""").fetchone()  # fmt: skip
    assert len(pnl["rows"]) == 6 and pnl["totals"][0]["revenue_usd"] == pytest.approx(rev)
    assert pnl["totals"][0]["gross_margin_pct"] == pytest.approx(gp / rev)
    budget = _ok(_call(dbt_settings, "financial_statements", {"kind": "budget_variance", "start": "2026-01-01",
                                                               "end": "2026-03-31"}))  # fmt: skip
    want = dict(warehouse.execute("""select department, sum(actual_usd) - sum(budget_usd) filter (where actual_usd is not null)
                                     from marts.fct_budget_vs_actual_monthly
                                     where month_start between date '2026-01-01' and date '2026-03-01'
                                     group by 1""").fetchall())  # fmt: skip
    got = {t["department"]: t["variance_usd"] for t in budget["totals"]}
    assert got.keys() == want.keys()
    for dep, value in want.items():
        assert got[dep] == (pytest.approx(value) if value is not None else None)


def test_financial_statements_costs_and_kpis(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    costs = _ok(
        _call(
            dbt_settings,
            "financial_statements",
            {"kind": "costs", "start": "2026-09-01", "end": "2026-10-31"},
        )
    )
    total, cor = warehouse.execute("""select sum(cost_usd), sum(cost_usd) filter (where is_cost_of_revenue)
                                      from marts.fct_costs_daily
                                      where cost_date between date '2026-09-01' and date '2026-10-31'""").fetchone()  # fmt: skip
    assert costs["totals"][0]["cost_usd"] == pytest.approx(total)
    assert sum(r["cost_usd"] for r in costs["rows"]) == pytest.approx(total)
    assert sum(r["share_of_total"] for r in costs["rows"]) == pytest.approx(1.0)
    assert sum(a["allocated_cost_usd"] for a in costs["allocation"]) == pytest.approx(cor)
    per = {r["service"]: r for r in costs["cost_per_request"]}
    c, req = warehouse.execute("""select sum(cost_usd), sum(requests_served) from marts.fct_cost_per_request_daily
                                  where service = 'api-gateway'
                                    and date_day between date '2026-09-01' and date '2026-10-31'""").fetchone()  # fmt: skip
    assert per["api-gateway"]["cost_per_1000_requests_usd"] == pytest.approx(c * 1000 / float(req))

    kpis = _ok(
        _call(
            dbt_settings,
            "financial_statements",
            {"kind": "kpis", "start": "2026-08-01", "end": "2026-10-31"},
        )
    )
    want = {r["month_start"]: r for r in _rows(warehouse, """
        select s.month_start, s.ending_mrr, s.nrr_12m, u.ltv_usd, g.gross_margin_pct
        from marts.fct_mrr_summary_monthly s
        join marts.fct_unit_economics_monthly u using (month_start)
        join marts.fct_gross_margin_monthly g using (month_start)
        where s.month_start between date '2026-08-01' and date '2026-10-01'""")}  # fmt: skip
    assert len(kpis["rows"]) == 3
    for row in kpis["rows"]:
        w = want[dt.date.fromisoformat(row["month_start"])]
        assert row["mrr"] == pytest.approx(w["ending_mrr"]) and row["arr"] == pytest.approx(
            12 * w["ending_mrr"]
        )
        assert row["nrr"] == pytest.approx(w["nrr_12m"]) and row["ltv"] == pytest.approx(
            w["ltv_usd"]
        )
        assert row["gross_margin"] == pytest.approx(w["gross_margin_pct"])
    names = {d["name"] for d in kpis["provenance"]["metric_definitions"]}
    assert {"mrr", "arr", "nrr", "grr", "gross_margin", "ltv", "cac"} <= names


@pytest.mark.parametrize(("tool", "args", "expected"), [
    ("calculate_mrr", {"date": "1999-01-01"}, "the data covers"),
    ("calculate_mrr", {"breakdown": "country"}, "breakdown"),
    ("revenue_recognition", {"start": "2026-06-01", "end": "2026-01-01"}, "after end"),
    ("revenue_recognition", {"start": "1900-01-01", "end": "2026-01-01"}, "20 years"),
    ("revenue_recognition", {"start": "2025-01-01", "end": "2026-06-30", "grain": "day"}, "at most 366 days"),
    ("revenue_recognition", {"start": "2030-01-01", "end": "2030-03-31"}, "the data covers"),
    ("revenue_report", {"kind": "usage_charges", "customer_id": "cus_nope"}, "closest valid values"),
    ("revenue_report", {"kind": "summary", "customer_id": "cus_x"}, "not summary"),
    ("revenue_report", {"kind": "gossip"}, "kind"),
    ("revenue_report", {"limit": 10**6}, "limit"),
    ("forecast_revenue", {"horizon_months": 100}, "horizon_months"),
    ("forecast_revenue", {"scenarios": ["rosy"]}, "scenarios"),
    ("cash_flow_projection", {"months": 0}, "months"),
    ("ltv_analysis", {"segment": "smbb"}, "closest valid values: smb"),
    ("payment_recovery", {"status": "late"}, "status"),
    ("financial_statements", {"kind": "pnl", "start": "2026-05-01", "end": "2026-01-01"}, "swap them"),
])  # fmt: skip
def test_bad_arguments_are_clear_tool_errors(
    dbt_settings: Settings, tool: str, args: dict[str, Any], expected: str
) -> None:
    assert expected in _error_text(_call(dbt_settings, tool, args))


def test_unknown_customer_suggests_close_ids(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    real = warehouse.execute(
        "select customer_id from marts.dim_customers order by customer_id limit 1"
    ).fetchone()[0]
    text = _error_text(_call(dbt_settings, "payment_recovery", {"customer_id": real[:-1] + "#"}))
    assert "unknown customer_id" in text and real in text
