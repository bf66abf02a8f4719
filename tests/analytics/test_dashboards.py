"""Dashboards: tile values against direct SQL over the marts, change arithmetic, timeframe
presets, segment filters and the errors bad requests get."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from analytics import dashboards as dash
from analytics.dashboards import DashboardError, resolve_timeframe
from analytics.metrics import MetricQueryError
from analytics.settings import Settings


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> object:
    return con.execute(sql, params or []).fetchone()[0]


def _tiles(result: dash.Dashboard | dash.MetricAnalysis) -> dict[str, dash.Tile]:
    return {t.metric: t for t in result.tiles}


@pytest.fixture(scope="module")
def executive(dbt_settings: Settings) -> dash.Dashboard:
    return dash.generate_dashboard("executive", "last_month", settings=dbt_settings)


# ---- timeframes -----------------------------------------------------------------------------------


def test_presets_resolve_against_the_data_date_not_the_wall_clock() -> None:
    mid = dt.date(2026, 10, 15)

    def tf(name: str, as_of: dt.date = mid) -> dash.Timeframe:
        return resolve_timeframe(name, as_of=as_of)

    t = tf(
        "last_month"
    )  # October is still open on the 15th: the latest complete month is September
    assert (t.grain, t.start, t.end, t.periods) == (
        "month",
        dt.date(2026, 9, 1),
        dt.date(2026, 9, 30),
        1,
    )
    assert (t.previous_start, t.previous_end) == (dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    t = tf("last_month", dt.date(2026, 10, 31))  # on the last day the month is complete
    assert (t.start, t.end) == (dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    t = tf("month_to_date")
    assert (t.start, t.end, t.previous_start, t.previous_end) == (
        dt.date(2026, 10, 1), dt.date(2026, 10, 15), dt.date(2026, 9, 1), dt.date(2026, 9, 30))  # fmt: skip
    t = tf("last_30_days")
    assert (t.grain, t.start, t.end, t.periods) == ("day", dt.date(2026, 9, 16), mid, 30)
    assert (t.previous_start, t.previous_end) == (dt.date(2026, 8, 17), dt.date(2026, 9, 15))
    t = tf("last_quarter")
    assert (t.grain, t.start, t.end) == ("quarter", dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert (t.previous_start, t.previous_end) == (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    t = tf("year_to_date")
    assert (t.grain, t.start, t.end, t.previous_start) == (
        "year",
        dt.date(2026, 1, 1),
        mid,
        dt.date(2025, 1, 1),
    )
    t = tf("last_12_months")
    assert (t.start, t.end, t.periods) == (dt.date(2025, 10, 1), dt.date(2026, 9, 30), 12)
    assert (t.previous_start, t.previous_end) == (dt.date(2024, 10, 1), dt.date(2025, 9, 30))
    t = tf("last_week")  # 2026-10-15 is a Thursday: the last complete week is Mon 5 - Sun 11 Oct
    assert (t.grain, t.start, t.end) == ("week", dt.date(2026, 10, 5), dt.date(2026, 10, 11))


def test_custom_timeframes_snap_to_whole_periods_and_clamp_to_the_data() -> None:
    as_of = dt.date(2026, 10, 31)
    t = resolve_timeframe(start="2026-02-10", end="2026-04-20", grain="month", as_of=as_of)
    assert (t.name, t.start, t.end, t.periods) == (
        "custom",
        dt.date(2026, 2, 1),
        dt.date(2026, 4, 30),
        3,
    )
    assert (t.previous_start, t.previous_end) == (dt.date(2025, 11, 1), dt.date(2026, 1, 31))
    t = resolve_timeframe(start="2026-09-01", end="2027-03-01", as_of=as_of)
    assert t.end == as_of and t.note and "after the latest data" in t.note
    assert (
        resolve_timeframe(start="2026-10-01", as_of=as_of).grain == "day"
    )  # a month of days by default


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"timeframe": "last_fortnight"},
            "unknown timeframe 'last_fortnight'; use one of last_7_days",
        ),
        ({"start": "2026-05-01", "end": "2026-04-01"}, "is after end"),
        (
            {"timeframe": "last_month", "start": "2026-01-01"},
            "either a timeframe preset or start/end",
        ),
        ({"start": "2026-13-01"}, "is not a date; use YYYY-MM-DD"),
        ({"start": "2020-01-01", "grain": "day"}, "use a coarser grain"),
        ({"timeframe": "last_month", "grain": "hour"}, "unknown grain 'hour'"),
    ],
)
def test_bad_timeframes_are_refused_with_a_fix(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(DashboardError, match=message.replace("(", r"\(")):
        resolve_timeframe(**kwargs, as_of=dt.date(2026, 10, 31))  # type: ignore[arg-type]


def test_data_as_of_is_the_latest_day_of_the_facts(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    assert dash.data_as_of(dbt_settings) == _one(
        warehouse, "select max(date_day) from marts.fct_mrr_daily"
    )


# ---- tile values against the marts ----------------------------------------------------------------


def test_executive_mrr_tile_matches_the_mrr_summary(
    executive: dash.Dashboard, warehouse: duckdb.DuckDBPyConnection
) -> None:
    tf = executive.timeframe
    assert [t.metric for t in executive.tiles] == dash.dashboard_metrics("executive")
    mrr = _tiles(executive)["mrr"]
    month = tf.start
    expected = _one(
        warehouse,
        "select ending_mrr from marts.fct_mrr_summary_monthly where month_start = ?",
        [month],
    )
    previous = _one(warehouse, "select ending_mrr from marts.fct_mrr_summary_monthly where month_start = ?",
                    [tf.previous_start])  # fmt: skip
    assert mrr.value == pytest.approx(expected) and mrr.previous_value == pytest.approx(previous)
    assert mrr.change == pytest.approx(expected - previous)
    assert mrr.change_pct == pytest.approx((expected - previous) / abs(previous))
    assert mrr.direction == ("up" if expected > previous else "down")
    assert mrr.status == ("good" if expected > previous else "bad")  # higher MRR is better
    # sparkline: 12 months ending with the tile's month, its last point the tile's value
    assert len(mrr.sparkline) == 12 and mrr.sparkline[-1] == (month, pytest.approx(expected))
    history = warehouse.execute(
        "select month_start, ending_mrr from marts.fct_mrr_summary_monthly where month_start <= ? "
        "order by month_start desc limit 12", [month]).fetchall()[::-1]  # fmt: skip
    assert [(p, pytest.approx(v)) for p, v in history] == mrr.sparkline
    assert "fct_mrr_daily" in mrr.sql and mrr.definitions[0].name == "mrr"
    assert "marts.fct_mrr_daily" in executive.tables and len(executive.sql) == len(executive.tiles)


def test_executive_customer_and_churn_tiles(
    executive: dash.Dashboard, warehouse: duckdb.DuckDBPyConnection
) -> None:
    tiles, month = _tiles(executive), executive.timeframe.start
    row = warehouse.execute(
        "select paying_customers_end, logo_churn_rate, arr, nrr_12m from marts.fct_mrr_summary_monthly "
        "where month_start = ?", [month]).fetchone()  # fmt: skip
    assert tiles["paying_customers"].value == row[0]
    assert tiles["logo_churn_rate"].value == pytest.approx(row[1])
    assert tiles["arr"].value == pytest.approx(row[2])
    assert tiles["nrr"].value == pytest.approx(row[3])
    churn = tiles["logo_churn_rate"]
    if churn.change:  # lower churn is better: a rise is bad
        assert churn.status == ("bad" if churn.change > 0 else "good")
    assert churn.polarity == "lower_is_better" and churn.format == "percent"
    health = _one(warehouse, "select avg(health_score) from marts.fct_customer_health_daily where date_day = ?",
                  [executive.timeframe.end])  # fmt: skip
    assert tiles["average_health_score"].value == pytest.approx(health)


def test_multi_month_values_combine_as_the_metric_prescribes(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    """Over 3 months: MRR is the last month-end, revenue the sum, logo churn = all churns / the
    customers paying at the start of the first month, error rate = errors / requests."""
    a = dash.analyze_metrics(["mrr", "recognized_revenue", "logo_churn_rate", "error_rate"], "last_3_months",
                             settings=dbt_settings)  # fmt: skip
    tf, tiles = a.timeframe, _tiles(a)
    assert tf.periods == 3
    summary = warehouse.execute(
        "select sum(churned_customers), arg_min(paying_customers_start, month_start), arg_max(ending_mrr, month_start) "
        "from marts.fct_mrr_summary_monthly where month_start between ? and ?", [tf.start, tf.end]).fetchone()  # fmt: skip
    assert tiles["mrr"].value == pytest.approx(summary[2])
    assert tiles["logo_churn_rate"].value == pytest.approx(summary[0] / summary[1])
    revenue = _one(warehouse, "select sum(recognized_usd) from marts.fct_revenue_monthly where month_start between ? and ?",
                   [tf.start, tf.end])  # fmt: skip
    assert tiles["recognized_revenue"].value == pytest.approx(revenue)
    prev_revenue = _one(warehouse, "select sum(recognized_usd) from marts.fct_revenue_monthly "
                        "where month_start between ? and ?", [tf.previous_start, tf.previous_end])  # fmt: skip
    assert tiles["recognized_revenue"].previous_value == pytest.approx(prev_revenue)
    errors, requests = warehouse.execute(
        "select sum(errors), sum(requests) from marts.fct_api_metrics_daily where date_day between ? and ?",
        [tf.start, tf.end]).fetchone()  # fmt: skip
    assert tiles["error_rate"].value == pytest.approx(float(errors) / float(requests))
    assert set(a.trends) == {"mrr", "recognized_revenue", "logo_churn_rate", "error_rate"}
    mrr_trend = a.trends["mrr"]
    assert mrr_trend.last == pytest.approx(summary[2]) and mrr_trend.direction in {
        "rising",
        "falling",
        "flat",
    }


def test_technical_dashboard_over_30_days_matches_daily_api_metrics(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    d = dash.generate_dashboard("technical", settings=dbt_settings)
    tf, tiles = d.timeframe, _tiles(d)
    assert (tf.name, tf.grain, tf.periods) == ("last_30_days", "day", 30)
    requests, errors = warehouse.execute(
        "select sum(requests), sum(errors) from marts.fct_api_metrics_daily where date_day between ? and ?",
        [tf.start, tf.end]).fetchone()  # fmt: skip
    assert tiles["api_requests"].value == pytest.approx(float(requests))
    assert tiles["api_errors"].value == pytest.approx(float(errors))
    assert tiles["error_rate"].value == pytest.approx(float(errors) / float(requests))
    prev = _one(warehouse, "select sum(requests) from marts.fct_api_metrics_daily where date_day between ? and ?",
                [tf.previous_start, tf.previous_end])  # fmt: skip
    assert tiles["api_requests"].previous_value == pytest.approx(float(prev))
    assert len(tiles["api_requests"].sparkline) == 30


def test_segment_filter_equals_a_per_segment_query(
    dbt_settings: Settings, warehouse: duckdb.DuckDBPyConnection
) -> None:
    d = dash.generate_dashboard(
        "customer", "last_month", segments=["enterprise"], settings=dbt_settings
    )
    tiles, month = _tiles(d), d.timeframe.start
    paying = _one(warehouse, "select sum(is_paying_end) from marts.fct_customer_mrr_monthly "
                  "where month_start = ? and segment = 'enterprise'", [month])  # fmt: skip
    everyone = _one(warehouse, "select paying_customers_end from marts.fct_mrr_summary_monthly where month_start = ?",
                    [month])  # fmt: skip
    assert tiles["paying_customers"].value == paying < everyone
    assert (
        tiles["paying_customers"].segments == ("enterprise",)
        and tiles["paying_customers"].segmentable
    )
    health = _one(warehouse, "select avg(health_score) from marts.fct_customer_health_daily "
                  "where date_day = ? and segment = 'enterprise'", [d.timeframe.end])  # fmt: skip
    assert tiles["average_health_score"].value == pytest.approx(health)
    assert "enterprise" in d.summary
    fin = dash.generate_dashboard(
        "financial", "last_month", segments=["enterprise"], settings=dbt_settings
    )
    ltv = _tiles(fin)["ltv"]
    assert (
        not ltv.segmentable
        and ltv.segments == ()
        and ltv.note
        and "no customer segment" in ltv.note
    )


def test_every_dashboard_type_builds(dbt_settings: Settings) -> None:
    progress: list[tuple[int, int]] = []
    for kind in dash.DASHBOARD_TYPES:
        d = dash.generate_dashboard(
            kind, settings=dbt_settings, progress=lambda i, n, _m: progress.append((i, n))
        )
        assert d.tiles and all(t.value is not None for t in d.tiles), kind
        assert d.summary.startswith(d.title)
    assert progress[-1][0] == progress[-1][1] and len(progress) == sum(len(dash.dashboard_metrics(k))
                                                                       for k in dash.DASHBOARD_TYPES)  # fmt: skip


def test_monthly_metric_on_a_daily_timeframe_uses_its_own_grain(dbt_settings: Settings) -> None:
    a = dash.analyze_metrics(["nrr"], "last_30_days", settings=dbt_settings)
    tile = a.tiles[0]
    assert tile.grain == "month" and tile.note and "defined per month" in tile.note


def test_bad_requests(dbt_settings: Settings) -> None:
    with pytest.raises(
        DashboardError, match="unknown dashboard type 'sales'; use one of executive, operational"
    ):
        dash.generate_dashboard("sales", settings=dbt_settings)
    with pytest.raises(
        DashboardError, match="unknown segment.*'nope'.*valid segments: enterprise, mid_market, smb"
    ):
        dash.generate_dashboard("executive", segments=["nope"], settings=dbt_settings)
    with pytest.raises(MetricQueryError, match="unknown metric 'mrrr'; closest valid names: mrr"):
        dash.analyze_metrics(["mrrr"], settings=dbt_settings)
    with pytest.raises(DashboardError, match="at least one metric"):
        dash.analyze_metrics([], settings=dbt_settings)


def test_change_text_and_formats() -> None:
    assert dash.format_value(299279.3, "currency") == "$299.3K"
    assert dash.format_value(3591352.0, "currency") == "$3.59M"
    assert dash.format_value(0.0304, "percent") == "3.04%"
    assert dash.format_value(None, "number") == "n/a"
    assert dash._change_text(0.008, None, "percent", 0.022).startswith("+0.80 pp")
    assert dash._change_text(None, None, "number", None) == "no previous period"
