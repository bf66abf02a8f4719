"""Insights on the demo warehouse: deterministic, explained by numbers, ranked, the planted
outage shows up, and every rule carries a backtest that reads nothing after its as_of."""

from __future__ import annotations

import datetime as dt
import json
import numbers
import shutil
from pathlib import Path

import polars as pl
import pytest

from analytics.insights import (
    PRIORITIES,
    RULES,
    TYPES,
    Backtest,
    Insight,
    generate,
    history,
    insight_id,
    insights_frame,
)
from analytics.insights import rules as rules_module
from analytics.insights.backtest import ALL, backtest_rules, months_until
from analytics.settings import Settings, load_settings
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


def _hide(monkeypatch: pytest.MonkeyPatch, *tables: str) -> None:
    real = rules_module._exists
    monkeypatch.setattr(rules_module, "_exists", lambda s, t: False if t in tables else real(s, t))


def test_missing_health_mart_and_predictions_skip_the_risk_rule(
    dbt_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hide(monkeypatch, "marts.fct_customer_health_current", rules_module.CHURN_TABLE)
    got = generate(dbt_settings, backtest=False)
    assert got and all(x.rule != "customers_at_risk" for x in got)


def test_risk_rule_falls_back_to_health_without_predictions(
    dbt_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _hide(monkeypatch, rules_module.CHURN_TABLE)
    (x,) = [x for x in generate(dbt_settings) if x.rule == "customers_at_risk"]
    assert x.evidence["source"] == "health_score"
    assert "fallback" in x.description and f"{rules_module.CHURN_TABLE} is absent" in x.description
    assert x.backtest is not None and x.backtest.extra["source"] == "health_score"


def test_as_of_before_the_data_sees_no_future(dbt_settings: Settings) -> None:
    first = run_query(
        dbt_settings, "select min(month_start) as m from marts.fct_mrr_summary_monthly"
    )["m"][0]
    early = generate(dbt_settings, as_of=first + dt.timedelta(days=40))
    assert all(x.rule not in ("customers_at_risk", "upsell_opportunities") for x in early)
    assert isinstance(pl.DataFrame(insights_frame(early)), pl.DataFrame)


# --- backtests -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def as_of(dbt_settings: Settings) -> dt.date:
    return rules_module.default_as_of(dbt_settings)


@pytest.fixture(scope="module")
def figures(dbt_settings: Settings, as_of: dt.date) -> dict[str, Backtest]:
    got = backtest_rules(dbt_settings, as_of)
    print("\n" + "\n".join(f"{k:26} periods={b.evaluated_periods:2} fires={b.fires:2} flagged={b.flagged} "
                             f"precision={b.precision} base={b.base_rate} coverage={b.coverage}"
                             for k, b in got.items()))  # fmt: skip
    return got


def test_every_insight_carries_its_rules_backtest(insights: list[Insight]) -> None:
    for x in insights:
        assert x.backtest is not None, x.rule
        assert x.backtest.rule == x.rule
        assert f"Backtest over {x.backtest.evaluated_periods} month-ends" in x.description
    frame = insights_frame(insights)
    stored = [Backtest.model_validate_json(b).model_dump() for b in frame["backtest"]]
    assert stored == [x.backtest.model_dump() for x in insights if x.backtest]


def test_backtest_figures_are_rates_over_observed_horizons(
    figures: dict[str, Backtest], as_of: dt.date
) -> None:
    assert set(figures) == set(ALL), "every rule replays on the demo's two years of history"
    for name, b in figures.items():
        assert b.evaluated_periods >= 10 and 0 <= b.fires <= b.evaluated_periods, name
        for v in (b.precision, b.base_rate, b.coverage, b.coverage_mrr):
            assert v is None or 0 <= v <= 1, name
        assert b.last_period is not None
        # the outcome of the last evaluated month-end is observed by as_of, not after it (3 days'
        # slack: calendar-month horizons are stated as 31 or 92 days)
        last = dt.date.fromisoformat(b.last_period)
        assert last + dt.timedelta(days=b.horizon_days) <= as_of + dt.timedelta(days=3), name
    for name in ("customers_at_risk", "upsell_opportunities", "capacity_near_threshold"):
        b = figures[name]
        assert b.precision is not None and b.base_rate is not None and b.coverage is not None, name


def test_risk_headline_is_the_churn_models_expected_loss(
    dbt_settings: Settings, insights: list[Insight]
) -> None:
    (x,) = [x for x in insights if x.rule == "customers_at_risk"]
    preds = run_query(dbt_settings, "select * from analytics.churn_predictions")
    observed = preds["as_of"].max()
    mrr = run_query(dbt_settings, f"select customer_id, mrr from marts.fct_mrr_daily "
                                  f"where date_day = date '{observed}' and mrr > 0")  # fmt: skip
    expected = float(
        preds.join(mrr, on="customer_id")
        .select(pl.col("churn_probability") * pl.col("mrr"))
        .sum()
        .item()
    )
    assert x.evidence["source"] == "churn_model"
    assert x.evidence["expected_mrr_loss_90d"] == pytest.approx(expected, abs=0.01)
    assert f"${expected:,.0f}" in x.title
    # the model's expected loss held up on history (walk-forward, labels unseen in training)
    bt = x.backtest
    assert bt is not None and str(bt.extra["source"]).startswith("churn_model")
    assert 0.5 <= float(bt.extra["realised_over_expected"]) <= 2.0  # type: ignore[arg-type]
    assert bt.precision is not None and bt.base_rate is not None and bt.precision > 3 * bt.base_rate


def test_upsell_rule_is_judged_against_the_base_expansion_rate(figures: dict[str, Backtest]) -> None:
    """The demo plants no link from seat pressure to seat purchases (seat changes are random), so
    the upsell rule does about as well as the base rate (scale 1: 19.6% vs 19.3%; here 16% vs
    18%): what must hold is that the backtest measures it against that base rate, on flags and
    outcomes of the same month-ends, and that the coverage says how few expansions it finds."""
    b = figures["upsell_opportunities"]
    assert b.precision is not None and b.base_rate is not None and b.flagged
    assert 0 < b.base_rate < 1 and b.evaluated_periods >= 6
    assert b.coverage is not None and b.coverage < 0.5  # a rule that flags few finds few


def test_upsell_replay_matches_the_mart(dbt_settings: Settings) -> None:
    mart = run_query(dbt_settings, "select * from marts.fct_upsell_signals")
    replay = history.upsell_signals(dbt_settings, [mart["as_of_date"][0]])
    both = mart.join(replay, on="customer_id", how="inner", suffix="_replay")
    assert both.height == mart.height == replay.height
    # history can only know the seats on the day (fct_mrr_daily); the mart reads the subscription's
    # current item: where those agree, every flag must agree
    same = both.filter(pl.col("seats") == pl.col("seats_replay"))
    assert same.height >= 0.95 * both.height
    for c in (
        "near_usage_limit",
        "seats_full",
        "seat_pressure",
        "at_plan_seat_max",
        "growing_fast",
        "signal_count",
    ):
        assert same.filter(pl.col(c) != pl.col(f"{c}_replay")).is_empty(), c
    assert same.filter((pl.col("priority") == "high") != pl.col("high")).is_empty()


def test_seat_pressure_is_sustained_and_growing(dbt_settings: Settings) -> None:
    rows = run_query(dbt_settings, "select * from marts.fct_upsell_signals")
    hot = rows.filter(pl.col("seat_pressure"))
    assert hot.filter((pl.col("seat_utilisation") < history.UPSELL_SEAT_THRESHOLD)
                      | (pl.col("seat_utilisation_prev_30d") < history.UPSELL_SEAT_THRESHOLD)
                      | (pl.col("active_users_30d") <= pl.col("active_users_prev_30d"))).is_empty()  # fmt: skip
    assert hot.height <= rows["seats_full"].sum(), "the seat signal asks more than one full month"


_TRUNCATE = {  # table -> date column: what the backtested rules read, cut after the cut-off
    "marts.fct_mrr_daily": "date_day", "marts.fct_customer_mrr_monthly": "month_start",
    "marts.fct_mrr_summary_monthly": "month_start", "marts.fct_api_metrics_account_daily": "date_day",
    "marts.fct_api_metrics_daily": "date_day", "marts.fct_customer_health_daily": "date_day",
    "marts.fct_payments": "payment_date",
}  # fmt: skip


def test_backtest_reads_nothing_after_as_of(
    dbt_settings: Settings, as_of: dt.date, tmp_path: Path
) -> None:
    """The same backtest as of a past month-end on the warehouse and on a copy with every row
    after that day deleted: identical figures."""
    import duckdb

    cut = months_until(dbt_settings, as_of, {})[-8]
    shutil.copy(dbt_settings.warehouse_path, tmp_path / "warehouse.duckdb")
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    try:
        for table, col in _TRUNCATE.items():
            con.execute(f"delete from {table} where {col} > ?", [cut])
        con.execute("create table staging._events_cut as select * from staging.stg_supabase__feature_events "
                    "where occurred_on <= ?", [cut])  # fmt: skip
        kind = con.execute(
            "select count(*) from duckdb_views() where view_name = 'stg_supabase__feature_events'"
        ).fetchone()
        con.execute(
            f"drop {'view' if kind and kind[0] else 'table'} staging.stg_supabase__feature_events"
        )
        con.execute(
            "create view staging.stg_supabase__feature_events as select * from staging._events_cut"
        )
    finally:
        con.close()
    cut_settings = load_settings(duckdb_path=tmp_path / "warehouse.duckdb", data_dir=tmp_path)
    rules = {"customers_at_risk", "upsell_opportunities", "mrr_churn_spike", "mrr_expansion_strong",
             "mrr_net_new_negative", "mrr_forecast_trend"}  # fmt: skip
    for source in ("churn_model", "health_score"):
        full = backtest_rules(dbt_settings, cut, only=rules, churn_source=source)
        short = backtest_rules(cut_settings, cut, only=rules, churn_source=source)
        assert set(full) == rules
        assert {k: b.model_dump() for k, b in full.items()} == {
            k: b.model_dump() for k, b in short.items()
        }
