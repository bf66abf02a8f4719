"""Analytics assets on the session's demo warehouse: the tables they write back, the metadata
they record, and the daily schedule."""

from __future__ import annotations

import dagster as dg
import duckdb
import polars as pl
import pytest

from analytics.settings import Settings
from orchestration import analytics
from orchestration.definitions import MATERIALIZE_EVERYTHING, build_definitions

CORE = ("forecasts", "capacity_forecast", "revenue_scenarios", "anomalies", "model_metrics")


def _table(con: duckdb.DuckDBPyConnection, name: str) -> pl.DataFrame:
    frame = pl.from_arrow(con.sql(f"select * from analytics.{name}").to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


@pytest.fixture(scope="module")
def tables(dbt_settings: Settings) -> dict[str, pl.DataFrame]:
    """Every analytics table the platform build wrote (read-only, read once)."""
    con = duckdb.connect(str(dbt_settings.warehouse_path), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'analytics' "
            "and table_name not like '\\_dlt%' escape '\\'"
        ).fetchall()]  # fmt: skip
        return {n: _table(con, n) for n in names}
    finally:
        con.close()


@pytest.fixture(scope="module")
def materializations(dbt_settings: Settings) -> dict[str, dict[str, object]]:
    """Metadata of each analytics asset, from a run of just those assets."""
    defs = build_definitions(dbt_settings)
    keys = [
        k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] == analytics.GROUP
    ]
    result = defs.resolve_job_def(MATERIALIZE_EVERYTHING).execute_in_process(
        asset_selection=keys, instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    return {
        ev.materialization.asset_key.path[-1]: {
            k: v.value for k, v in ev.materialization.metadata.items()
        }
        for ev in result.get_asset_materialization_events()
    }


def test_definitions_declare_the_analytics_group_downstream_of_the_marts(
    dbt_settings: Settings,
) -> None:
    defs = build_definitions(dbt_settings)
    graph = defs.resolve_asset_graph()
    for name in CORE:
        node = graph.get(analytics.key(name))
        assert node.group_name == analytics.GROUP
    assert (
        dg.AssetKey(["marts", "fct_mrr_summary_monthly"])
        in graph.get(analytics.key("revenue_scenarios")).parent_keys
    )
    assert (
        dg.AssetKey(["marts", "fct_service_capacity_daily"])
        in graph.get(analytics.key("capacity_forecast")).parent_keys
    )
    assert analytics.key("forecasts") in graph.get(analytics.key("model_metrics")).parent_keys
    schedule = defs.resolve_schedule_def(analytics.SCHEDULE)
    assert schedule.cron_schedule == "0 6 * * *" and schedule.execution_timezone == "UTC"
    selected = defs.resolve_job_def(analytics.JOB).asset_layer.selected_asset_keys
    assert {analytics.key(n) for n in CORE} <= selected
    assert dg.AssetKey(["marts", "fct_mrr_summary_monthly"]) in selected  # upstream refreshed too


def test_forecasts_have_ordered_intervals_after_the_history(
    tables: dict[str, pl.DataFrame],
) -> None:
    fc = tables["forecasts"]
    assert set(fc["series"]) == {"mrr", "recognized_revenue", "paying_customers", "api_requests"}
    assert (
        fc.filter(
            ~((pl.col("yhat_lower") <= pl.col("yhat")) & (pl.col("yhat") <= pl.col("yhat_upper")))
        ).height
        == 0
    )
    assert fc.filter(pl.col("series") == "mrr").height == 6
    bt = tables["forecast_backtests"]
    chosen = bt.filter("is_chosen")
    assert chosen.group_by("series").len()["len"].to_list() == [1] * 4
    mrr = chosen.filter(pl.col("series") == "mrr").row(0, named=True)
    # 24 months of a growing company: backtest MASE 1.00 here and 1.10 at scale 1 (target < 1 not
    # met; the forecast's answers say so through quality_warnings), 2.18 for the Prophet forecast
    # `auto` picked before. The bound catches a regression to that.
    assert 0 < mrr["mase"] < 1.5
    api = chosen.filter(pl.col("series") == "api_requests").row(0, named=True)
    assert 0 < api["mase"] < 1  # daily API volume: beats the in-sample seasonal naive


def test_capacity_and_scenarios(tables: dict[str, pl.DataFrame]) -> None:
    summary = tables["capacity_summary"]
    assert summary.height == 6 and set(summary["status"]) <= {"above", "crosses", "may_cross", "ok"}
    cap = tables["capacity_forecast"]
    assert cap["yhat_upper"].max() <= 1.0 and cap["yhat_lower"].min() >= 0.0
    sc = tables["revenue_scenarios"]
    assert sc.height == 12
    assert (sc["pessimistic"] <= sc["base"]).all() and (sc["base"] <= sc["optimistic"]).all()
    cash = tables["cash_flow_projection"]
    assert cash.height == 12 and {"collections", "costs", "ending_cash"} <= set(cash.columns)


def test_anomalies_flag_the_planted_outage(
    dbt_settings: Settings, tables: dict[str, pl.DataFrame]
) -> None:
    con = duckdb.connect(str(dbt_settings.warehouse_path), read_only=True)
    try:
        start = con.execute(
            "select min(start)::date from demo_truth.anomalies where kind = 'outage'"
        ).fetchone()
    finally:
        con.close()
    assert start is not None
    outage_day = start[0]
    rows = tables["anomalies"]
    assert set(rows["series"]) == {
        "api_requests",
        "error_rate",
        "p95_latency",
        "failed_payments",
        "recognized_revenue",
    }
    flagged = rows.filter(pl.col("ds") == outage_day, "is_anomaly")
    assert {"error_rate", "p95_latency"} <= set(flagged["series"])
    assert rows.filter("is_anomaly").height < 0.02 * rows.height  # flags are rare
    windows = tables["anomaly_windows"]
    assert windows.filter(pl.col("series") == "error_rate", pl.col("start") <= outage_day,
                          pl.col("end") >= outage_day).height == 1  # fmt: skip


def test_model_metrics_collect_every_evaluation(tables: dict[str, pl.DataFrame]) -> None:
    mm = tables["model_metrics"]
    mase = mm.filter(pl.col("model").str.starts_with("forecast:"), pl.col("metric") == "mase")
    assert set(mase["subject"]) == {"mrr", "recognized_revenue", "paying_customers", "api_requests"}
    if "churn_predictions" in tables:
        churn = dict(mm.filter(pl.col("model") == "churn").select("metric", "value").iter_rows())
        assert {"roc_auc", "pr_auc", "brier"} <= set(churn)
    if "lead_scores" in tables:
        assert "roc_auc" in set(mm.filter(pl.col("model") == "lead_scoring")["metric"])


def test_materialization_metadata(materializations: dict[str, dict[str, object]]) -> None:
    assert set(CORE) <= set(materializations)
    fc = materializations["forecasts"]
    for series in ("mrr", "recognized_revenue", "paying_customers", "api_requests"):
        assert isinstance(fc[f"{series}/mase"], float)
        assert isinstance(fc[f"{series}/smape"], float) and isinstance(fc[f"{series}/mae"], float)
    assert "data:image/png;base64," in str(fc["mrr_forecast_plot"])
    assert fc["dagster/row_count"] == 46
    anomalies = materializations["anomalies"]
    assert anomalies["anomalous_days/error_rate"] >= 1  # type: ignore[operator]
    for name, meta in materializations.items():
        assert isinstance(meta.get("dagster/row_count"), int) and meta["dagster/row_count"] > 0, (
            name
        )


@pytest.mark.parametrize(
    ("module", "names", "table"),
    [
        ("churn", ("run",), "churn_predictions"),
        ("expansion", ("opportunities",), "expansion_opportunities"),
        ("leads", ("score_leads",), "lead_scores"),
        ("insights", ("generate", "insights_frame"), "insights"),
    ],
)
def test_model_packages_are_wired(
    module: str, names: tuple[str, ...], table: str, tables: dict[str, pl.DataFrame]
) -> None:
    import importlib

    api = importlib.import_module(f"analytics.{module}")
    assert all(callable(getattr(api, n)) for n in names)
    assert tables[table].height > 0
