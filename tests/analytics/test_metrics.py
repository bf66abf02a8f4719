"""analytics.metrics on the built demo warehouse: governed metrics compiled by MetricFlow agree
with direct queries of the marts; bad requests get errors that name the valid choices."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from analytics import metrics
from analytics.settings import Settings


def test_list_metrics_describes_the_headline_metrics(dbt_settings: Settings) -> None:
    catalog = {m.name: m for m in metrics.list_metrics(dbt_settings)}
    for name in ("mrr", "arr", "new_mrr", "churned_mrr", "reactivation_mrr", "paying_customers", "arpa",
                 "recognized_revenue", "deferred_revenue", "average_health_score", "at_risk_customers", "nps",
                 "api_requests", "error_rate", "p95_latency", "utilisation", "leads", "conversion_rate",
                 "weighted_pipeline"):  # fmt: skip
        assert name in catalog, name
        assert catalog[name].description, name
    assert "month" in catalog["mrr"].grains
    assert any(d.endswith("segment") for d in catalog["mrr"].dimensions)


def test_mrr_by_month_matches_the_mart(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    result = metrics.query("mrr", grain="month", settings=dbt_settings)
    assert result.data.columns == ["period", "mrr"]
    assert result.data.height >= 12
    expected = dict(warehouse.execute(
        "select month_start, ending_mrr from marts.fct_mrr_summary_monthly"
    ).fetchall())  # fmt: skip
    for period, mrr in result.data.iter_rows():
        assert mrr == pytest.approx(float(expected[period]), rel=1e-6, abs=0.01), period
    assert "fct_mrr" in result.sql.lower() or "mrr" in result.sql.lower()
    assert result.freshness.sources_loaded_at["stripe"] is not None
    assert result.freshness.models_built_at is not None


def test_mrr_with_a_dimension_and_a_filter(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    by_segment = metrics.query("mrr", grain="month", dimensions=["segment"], settings=dbt_settings).data
    total = metrics.query("mrr", grain="month", settings=dbt_settings).data
    last = total["period"].max()
    seg_sum = by_segment.filter(by_segment["period"] == last)["mrr"].sum()
    assert seg_sum == pytest.approx(total.filter(total["period"] == last)["mrr"][0], rel=1e-6)
    smb = metrics.query("mrr", grain="month", dimensions=["segment"], filters={"segment": "smb"},
                        start=dt.date(2025, 6, 1), end=dt.date(2026, 6, 30), settings=dbt_settings).data  # fmt: skip
    assert set(smb["segment"]) == {"smb"}
    assert smb["period"].min() >= dt.date(2025, 6, 1) and smb["period"].max() <= dt.date(2026, 6, 1)
    both = by_segment.filter((by_segment["segment"] == "smb") & (by_segment["period"] == dt.date(2026, 1, 1)))
    assert smb.filter(smb["period"] == dt.date(2026, 1, 1))["mrr"][0] == pytest.approx(both["mrr"][0])


def test_several_metrics_in_one_query(dbt_settings: Settings) -> None:
    data = metrics.query(["mrr", "paying_customers", "arpa"], grain="quarter", settings=dbt_settings).data
    assert data.columns == ["period", "mrr", "paying_customers", "arpa"]
    row = data.row(-1, named=True)
    assert row["arpa"] == pytest.approx(row["mrr"] / row["paying_customers"], rel=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metric": "mmr"}, "unknown metric 'mmr'; closest valid names: mrr"),
        ({"metric": "mrr", "dimensions": ["segmnt"]}, "unknown dimension 'segmnt'"),
        ({"metric": "mrr", "grain": "hour"}, "unknown grain 'hour'"),
        ({"metric": "mrr", "start": "2026-01-01", "end": "2025-01-01"}, "is after end"),
        ({"metric": "mrr", "start": "last tuesday"}, "is not a date; use YYYY-MM-DD"),
        ({"metric": "mrr", "limit": 10**9}, "limit must be between"),
        ({"metric": "mrr", "filters": {"segment": "x'; drop table marts.dim_customers; --"}}, "not allowed"),
        ({"metric": []}, "at least one metric"),
    ],
)
def test_bad_requests_get_clear_errors(dbt_settings: Settings, kwargs: dict, message: str) -> None:
    with pytest.raises(metrics.MetricQueryError, match=message.replace("(", r"\(")):
        metrics.query(settings=dbt_settings, **kwargs)


def test_periods_end_at_the_last_complete_one(dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection) -> None:
    """No null period, no partial trailing period and no period after the last day of data by
    default; `include_partial` adds the current period, cut at the last day of data."""
    through = warehouse.execute("select data_through_date from marts.dim_data_window").fetchone()[0]
    # every metric that has a month grain, together: flow metrics with rows scheduled after the
    # data (revenue recognition) and measures with undated rows (open deals) included
    monthly = [m.name for m in metrics.list_metrics(dbt_settings) if "month" in m.grains]
    for grain in ("week", "month", "quarter"):
        result = metrics.query(monthly if grain == "month" else ["recognized_revenue", "mrr"], grain=grain,
                               settings=dbt_settings)  # fmt: skip
        periods = result.data["period"]
        assert periods.null_count() == 0, grain
        last = periods.max()
        assert metrics.period_end(last, grain) <= through, (grain, last, through)
        assert result.data_through == through and result.complete and result.partial_period is None
        # the next period is incomplete or after the data: it is not in the answer
        assert metrics.period_end(metrics.period_end(last, grain) + dt.timedelta(days=1), grain) > through

    weekly = metrics.query("recognized_revenue", grain="week", include_partial=True, settings=dbt_settings)
    current = metrics.period_start(through, "week")
    if metrics.period_end(through, "week") > through:  # the week of the last day is incomplete
        assert weekly.partial_period == current and not weekly.complete
        assert weekly.data["period"].max() == current
        # the partial week counts only the days up to the last day of data
        counted = warehouse.execute(
            "select sum(recognized_usd) from marts.fct_revenue_recognition_daily where date_day between ? and ?",
            [current, through],
        ).fetchone()[0]  # fmt: skip
        assert weekly.data.row(-1, named=True)["recognized_revenue"] == pytest.approx(float(counted), rel=1e-9)


def test_a_start_after_the_data_is_refused(dbt_settings: Settings) -> None:
    with pytest.raises(metrics.MetricQueryError, match="data through"):
        metrics.query("mrr", grain="month", start=dt.date(2030, 1, 1), settings=dbt_settings)


@pytest.mark.parametrize(
    ("day", "grain", "start", "end"),
    [
        (dt.date(2026, 10, 31), "month", dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
        (dt.date(2024, 2, 10), "month", dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        (dt.date(2026, 10, 31), "week", dt.date(2026, 10, 26), dt.date(2026, 11, 1)),
        (dt.date(2026, 11, 15), "quarter", dt.date(2026, 10, 1), dt.date(2026, 12, 31)),
        (dt.date(2026, 12, 31), "year", dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ],
)
def test_period_bounds(day: dt.date, grain: str, start: dt.date, end: dt.date) -> None:
    assert metrics.period_start(day, grain) == start
    assert metrics.period_end(day, grain) == end
    assert metrics.last_complete_day(end, grain) == end
    assert metrics.last_complete_day(end - dt.timedelta(days=1), grain) == start - dt.timedelta(days=1)
