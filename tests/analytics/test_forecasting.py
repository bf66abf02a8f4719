"""analytics.forecasting: the public face, every edge case, backtest-driven choice, the fast
many-series path, Prophet for a headline series, scenarios, cash flow and capacity; and one test
on the built demo warehouse (headline forecasts beat seasonal naive in backtest)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest

from analytics.forecasting import (
    BacktestReport,
    ForecastError,
    ForecastWarning,
    assumptions_from_mrr_bridge,
    backtest,
    capacity_forecast,
    cash_flow_projection,
    forecast,
    revenue_scenarios,
)
from analytics.forecasting.capacity import MAX_UTILISATION
from analytics.settings import Settings

START = dt.date(2024, 1, 1)
PUBLIC = ["ds", "yhat", "yhat_lower", "yhat_upper", "method", "warning"]


def daily(y: object, start: dt.date = START) -> pl.DataFrame:
    values = np.asarray(y, dtype=float)
    ds = pl.date_range(start, start + dt.timedelta(days=len(values) - 1), eager=True)
    return pl.DataFrame({"ds": ds, "y": values})


def trend_weekly(n: int, seed: int = 0, level: float = 100.0, slope: float = 0.3, noise: float = 4.0) -> pl.DataFrame:
    """Trend + weekly seasonality (weekends lower) + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    weekday = (np.arange(n) + START.weekday()) % 7
    y = level + slope * t - 25.0 * np.isin(weekday, [5, 6]) + 6.0 * (weekday == 0) + rng.normal(0, noise, n)
    return daily(y)


def assert_intervals(frame: pl.DataFrame) -> None:
    assert frame.select(pl.col("yhat", "yhat_lower", "yhat_upper").is_null().any()).row(0) == (False, False, False)
    assert frame.filter(~((pl.col("yhat_lower") <= pl.col("yhat")) & (pl.col("yhat") <= pl.col("yhat_upper")))).height == 0


# --- the public face ---------------------------------------------------------------------------


def test_forecast_returns_dates_after_the_history_with_intervals() -> None:
    series = trend_weekly(120)
    out = forecast(series, 14, method="fast_ets")
    assert out.columns == PUBLIC
    assert out.height == 14
    assert out["ds"].to_list() == [series["ds"].max() + dt.timedelta(days=k) for k in range(1, 15)]
    assert set(out["method"]) == {"fast_ets"}
    assert out["warning"].null_count() == 14
    assert_intervals(out)
    assert (out["yhat_upper"] - out["yhat_lower"]).min() > 0


@pytest.mark.parametrize("method", ["ensemble", "theta", "ets", "seasonal_naive", "fast_ets", "arima"])
def test_every_statistical_method_gives_intervals(method: str) -> None:
    out = forecast(trend_weekly(70, seed=3), 10, method=method, level=95)
    assert out.height == 10 and set(out["method"]) == {method}
    assert_intervals(out)


def test_seasonal_naive_matches_statsforecast() -> None:
    """The vectorised baseline gives statsforecast's SeasonalNaive / Naive points and intervals."""
    from statsforecast.models import Naive, SeasonalNaive

    series = trend_weekly(60, seed=4)
    y = series["y"].to_numpy()
    for method, model in (("seasonal_naive", SeasonalNaive(season_length=7)), ("naive", Naive())):
        ours = forecast(series, 10, method="seasonal_naive", season_length=7 if method == "seasonal_naive" else 1)
        theirs = model.forecast(y=y, h=10, level=[80])
        assert set(ours["method"]) == {method}
        np.testing.assert_allclose(ours["yhat"].to_numpy(), theirs["mean"], rtol=1e-6)
        np.testing.assert_allclose(ours["yhat_lower"].to_numpy(), theirs["lo-80"], rtol=1e-6)
        np.testing.assert_allclose(ours["yhat_upper"].to_numpy(), theirs["hi-80"], rtol=1e-6)


def test_auto_is_the_ensemble_and_beats_seasonal_naive_in_backtest() -> None:
    series = trend_weekly(364, seed=1)
    report = backtest(series, 28, n_windows=2)
    assert isinstance(report, BacktestReport)
    assert report.methods == ("ensemble", "fast_ets", "prophet", "ets", "seasonal_naive")
    assert report.metrics.columns == ["method", "mae", "smape", "mase", "coverage", "relative_mae", "n_series"]
    assert report.score("ensemble") < 1.0, report.metrics
    assert report.score("ensemble", "relative_mae") < 1.0
    assert report.score("seasonal_naive", "relative_mae") == pytest.approx(1.0)
    json.dumps(report.as_dict())  # plain values for asset metadata

    out = forecast(series, 28, n_windows=2)
    assert set(out["method"]) == {"ensemble"}
    assert_intervals(out)


def test_auto_with_candidates_chooses_per_series_by_backtest() -> None:
    series = trend_weekly(200, seed=2)
    report = backtest(series, 14, methods=["fast_ets", "seasonal_naive"], n_windows=2)
    out = forecast(series, 14, candidates=["fast_ets", "seasonal_naive"], n_windows=2)
    assert set(out["method"]) == {report.chosen}


def test_prophet_for_a_headline_daily_series() -> None:
    """Two years of a daily business series: Prophet with weekly and yearly seasonality."""
    n = 730
    rng = np.random.default_rng(5)
    t = np.arange(n)
    weekday = (t + START.weekday()) % 7
    y = (1000 + 2.0 * t) * (1 + 0.1 * np.sin(2 * np.pi * t / 365.25)) * np.where(weekday >= 5, 0.6, 1.0)
    series = daily(y * rng.normal(1, 0.02, n))
    out = forecast(series, 28, method="prophet")
    assert set(out["method"]) == {"prophet"} and out.height == 28
    assert_intervals(out)
    weekend = out.filter(pl.col("ds").dt.weekday() >= 6)["yhat"].mean()
    weekdays = out.filter(pl.col("ds").dt.weekday() <= 5)["yhat"].mean()
    assert weekend < 0.75 * weekdays  # the weekly pattern carries into the forecast
    assert out["yhat"].mean() == pytest.approx(float(np.mean(y[-28:])) * 1.03, rel=0.15)


def test_many_series_get_one_forecast_each_on_the_fast_path() -> None:
    frames = [trend_weekly(150, seed=k, level=50.0 + 10 * k).with_columns(pl.lit(k).alias("unique_id")) for k in range(40)]
    series = pl.concat(frames).select("unique_id", "ds", "y")
    out = forecast(series, 30)
    assert out.columns == ["unique_id", *PUBLIC]
    assert out.schema["unique_id"] == series.schema["unique_id"]  # the caller's id type comes back
    counts = out.group_by("unique_id").len()
    assert counts.height == 40 and set(counts["len"]) == {30}
    assert set(out["method"]) == {"ensemble"}
    assert_intervals(out)

    report = backtest(series, 30, n_windows=2)
    assert report.by_series.height == 80 and set(report.chosen_by_series) == set(range(40))
    assert report.score("ensemble") < report.score("seasonal_naive")


def test_weekly_and_month_start_frequencies() -> None:
    weeks = pl.DataFrame({"ds": pl.date_range(dt.date(2023, 1, 2), dt.date(2024, 12, 30), "1w", eager=True)})
    weeks = weeks.with_columns(pl.Series("y", 100 + np.arange(weeks.height) * 1.5 + np.sin(np.arange(weeks.height))))
    out = forecast(weeks, 8, freq="W", method="fast_ets")
    assert out["ds"].diff().drop_nulls().dt.total_days().to_list() == [7] * 7
    assert out["ds"][0] == dt.date(2025, 1, 6)

    months = pl.DataFrame({"ds": pl.date_range(dt.date(2023, 1, 1), dt.date(2025, 12, 1), "1mo", eager=True)})
    months = months.with_columns(pl.Series("y", 1000 + 40 * np.arange(36) + 30 * np.sin(np.arange(36) * np.pi / 6)))
    out = forecast(months, 6, freq="MS")
    assert out["ds"].to_list() == [dt.date(2026, m, 1) for m in range(1, 7)]
    assert_intervals(out)


# --- edge cases ----------------------------------------------------------------------------------


def test_a_single_observation_is_an_error() -> None:
    with pytest.raises(ForecastError, match="at least 2 observations"):
        forecast(daily([3.0]), 5)


def test_a_short_series_falls_back_to_naive_with_a_warning() -> None:
    with pytest.warns(ForecastWarning):
        out = forecast(daily([5.0, 6.0, 7.0, 6.0, 8.0]), 3, method="prophet")
    assert set(out["method"]) == {"naive"}
    assert out["yhat"].to_list() == [8.0, 8.0, 8.0]
    assert "only 5 observations" in out["warning"][0]
    assert_intervals(out)


def test_fewer_than_two_seasons_fits_without_seasonality() -> None:
    with pytest.warns(ForecastWarning):
        out = forecast(trend_weekly(12), 3, method="ets")
    assert set(out["method"]) == {"ets"} and "without seasonality" in out["warning"][0]


def test_gaps_are_filled_and_reported() -> None:
    series = trend_weekly(90).filter(~pl.col("ds").is_in([dt.date(2024, 2, 1), dt.date(2024, 2, 2), dt.date(2024, 2, 20)]))
    with pytest.warns(ForecastWarning):
        out = forecast(series, 7, method="fast_ets")
    assert "3 missing date(s) filled by linear interpolation" in out["warning"][0]
    assert out["ds"][0] == dt.date(2024, 3, 31)
    with pytest.raises(ForecastError, match="missing date"):
        forecast(series, 7, fill_gaps="error")


@pytest.mark.parametrize("value", [0.0, 42.5])
def test_constant_and_all_zero_series(value: float) -> None:
    with pytest.warns(ForecastWarning):
        out = forecast(daily([value] * 60), 10)
    assert out["yhat"].to_list() == [value] * 10
    assert (out["yhat_upper"] - out["yhat_lower"]).max() == 0.0
    assert set(out["method"]) == {"naive"} and "constant series" in out["warning"][0]


def test_mostly_zero_series_stays_non_negative() -> None:
    y = np.zeros(100)
    y[[10, 40, 77]] = [3.0, 1.0, 2.0]
    out = forecast(daily(y), 14)
    assert out["yhat_lower"].min() >= 0.0
    assert_intervals(out)


def test_series_with_negative_values_are_not_clipped() -> None:
    out = forecast(trend_weekly(60, level=-20.0, slope=0.0), 7, method="fast_ets")
    assert out["yhat"].max() < 0 and out["yhat_lower"].min() < -30
    assert_intervals(out)


def test_backtest_shortens_the_horizon_for_a_short_history() -> None:
    report = backtest(trend_weekly(40), 30, methods=["fast_ets", "seasonal_naive"])
    assert report.horizon == 10 and report.n_windows == 3
    assert "backtested 10 periods ahead" in report.warnings[0]
    with pytest.raises(ForecastError, match="method"):
        backtest(trend_weekly(40), 7, methods=["magic"])


def test_horizon_longer_than_history_is_allowed_with_wider_intervals() -> None:
    with pytest.warns(ForecastWarning):
        out = forecast(trend_weekly(30), 90, method="ets")
    assert out.height == 90
    assert "longer than the history" in out["warning"][0]
    width = (out["yhat_upper"] - out["yhat_lower"]).to_numpy()
    assert width[-1] > width[0]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"ds": [START, START + dt.timedelta(days=1)], "y": ["1", "x"]}), "y must be numeric"),
        (pl.DataFrame({"ds": [START, START + dt.timedelta(days=1), START + dt.timedelta(days=2)], "y": [1.0, None, 2.0]}),
         r"null/NaN/infinite value\(s\), at ds 2024-01-02"),
        (pl.DataFrame({"ds": [START, START + dt.timedelta(days=1)], "y": [1.0, float("nan")]}), "null/NaN"),
        (pl.DataFrame({"ds": [START, START, START + dt.timedelta(days=1)], "y": [1.0, 2.0, 3.0]}), "duplicate ds.*2024-01-01"),
        (pl.DataFrame({"ds": ["2024-01-01", "2024-01-02"], "y": [1.0, 2.0]}), "ds must be a date"),
        (pl.DataFrame({"date": [START], "value": [1.0]}), r"missing column\(s\) \['ds', 'y'\]"),
        (pl.DataFrame({"ds": [dt.datetime(2024, 1, 1, 9), dt.datetime(2024, 1, 2, 9)], "y": [1.0, 2.0]}), "time-of-day"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_clear_error(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(ForecastError, match=message):
        forecast(frame, 3)


def test_duplicates_name_the_series() -> None:
    frame = pl.DataFrame({"unique_id": ["a", "b", "b"], "ds": [START, START, START], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(ForecastError, match="b 2024-01-01"):
        forecast(frame, 3)


def test_bad_arguments_get_clear_errors() -> None:
    series = trend_weekly(40)
    with pytest.raises(ForecastError, match="horizon"):
        forecast(series, 0)
    with pytest.raises(ForecastError, match="level"):
        forecast(series, 3, level=180)
    with pytest.raises(ForecastError, match="method"):
        forecast(series, 3, method="lstm")  # type: ignore[arg-type]
    with pytest.raises(ForecastError, match="freq"):
        forecast(series, 3, freq="H")
    with pytest.raises(ForecastError, match="month-start"):
        forecast(series, 3, freq="MS")
    with pytest.raises(ForecastError, match="same weekday"):
        forecast(series, 3, freq="W")


def test_datetime_input_comes_back_as_datetime() -> None:
    series = trend_weekly(50).with_columns(pl.col("ds").cast(pl.Datetime("us", "UTC")))
    out = forecast(series, 5, method="fast_ets")
    assert out.schema["ds"] == pl.Datetime("us", "UTC")
    assert out["ds"][0] == dt.datetime(2024, 2, 20, tzinfo=dt.UTC)


def test_mixed_panel_routes_each_series() -> None:
    series = pl.concat([
        trend_weekly(100).with_columns(pl.lit("long").alias("unique_id")),
        daily([1.0, 2.0, 3.0]).with_columns(pl.lit("short").alias("unique_id")),
        daily([7.0] * 30).with_columns(pl.lit("flat").alias("unique_id")),
    ]).select("unique_id", "ds", "y")  # fmt: skip
    with pytest.warns(ForecastWarning):
        out = forecast(series, 5)
    methods = dict(out.group_by("unique_id").agg(pl.col("method").first()).iter_rows())
    assert methods["short"] == "naive" and methods["flat"] == "naive"
    assert methods["long"] == "ensemble"
    assert out.filter(pl.col("unique_id") == "long")["warning"].null_count() == 5


# --- scenarios, cash flow, capacity --------------------------------------------------------------


MRR = pl.DataFrame({"ds": pl.date_range(dt.date(2025, 1, 1), dt.date(2025, 12, 1), "1mo", eager=True),
                    "y": np.linspace(10_000, 15_000, 12)})  # fmt: skip


def test_revenue_scenarios_roll_forward() -> None:
    out = revenue_scenarios(MRR, 3, churn_rate=0.02, expansion_rate=0.01, new_mrr=500.0)
    assert out.columns == ["ds", "base", "optimistic", "pessimistic"]
    assert out["ds"].to_list() == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    expected = 15_000.0
    for value in out["base"]:
        expected = expected * (1 - 0.02 + 0.01) + 500.0
        assert value == pytest.approx(expected)
    assert (out["optimistic"] > out["base"]).all() and (out["pessimistic"] < out["base"]).all()
    custom = revenue_scenarios(MRR, 2, 0.02, 0.01, 500.0, adjustments={"no_sales": {"new_mrr": 0.0}})
    assert custom.columns == ["ds", "base", "no_sales"]
    assert custom["no_sales"][0] == pytest.approx(15_000 * 0.99)
    with pytest.raises(ForecastError, match="churn_rate"):
        revenue_scenarios(MRR, 3, churn_rate=2.0, expansion_rate=0.0, new_mrr=0.0)


def test_assumptions_from_the_mrr_bridge() -> None:
    bridge = pl.DataFrame({
        "month_start": [dt.date(2025, 1, 1), dt.date(2025, 2, 1)], "starting_mrr": [1000.0, 1000.0],
        "new_mrr": [100.0, 300.0], "expansion_mrr": [20.0, 20.0], "reactivation_mrr": [0.0, 10.0],
        "contraction_mrr": [10.0, 10.0], "churned_mrr": [30.0, 50.0],
    })  # fmt: skip
    a = assumptions_from_mrr_bridge(bridge)
    assert a == pytest.approx({"churn_rate": 0.05, "expansion_rate": 0.025, "new_mrr": 200.0})


def test_cash_flow_projection_is_collections_plus_prepayments_minus_trend_costs() -> None:
    scenarios = revenue_scenarios(MRR, 3, 0.02, 0.01, 500.0)
    costs = MRR.with_columns(pl.Series("y", 5000.0 + 100.0 * np.arange(12)))
    prepay = pl.DataFrame({"ds": [dt.date(2026, 2, 1)], "amount": [12_000.0]})
    out = cash_flow_projection(scenarios, costs, collection_rate=0.95, annual_prepayments=prepay,
                               annual_mrr_share=0.1, opening_cash=1_000.0)  # fmt: skip
    assert out.columns == ["ds", "mrr", "collections", "prepayments", "costs", "net_cash_flow", "ending_cash"]
    assert out["collections"].to_list() == pytest.approx((scenarios["base"] * 0.9 * 0.95).to_list())
    assert out["costs"].to_list() == pytest.approx([6200.0, 6300.0, 6400.0])  # the straight-line trend continues
    assert out["prepayments"].to_list() == [0.0, 12_000.0, 0.0]
    net = out["collections"] + out["prepayments"] - out["costs"]
    assert out["net_cash_flow"].to_list() == pytest.approx(net.to_list())
    assert out["ending_cash"][-1] == pytest.approx(1_000.0 + float(net.sum()))


def test_capacity_forecast_finds_the_first_crossing() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(120)
    services = {
        "api": 0.40 + 0.003 * t,  # 0.76 at the end, crossing 0.8 in about two weeks
        "db": 0.30 + 0.0 * t,
        "queue": 0.85 + 0.0005 * t,  # already above
    }
    frame = pl.concat([daily(np.clip(v + rng.normal(0, 0.01, 120), 0, 1)).with_columns(pl.lit(k).alias("unique_id"))
                       for k, v in services.items()])  # fmt: skip
    result = capacity_forecast(frame, 60, threshold=0.8)
    summary = {row["unique_id"]: row for row in result.summary.iter_rows(named=True)}
    assert summary["api"]["status"] == "crosses"
    assert dt.date(2024, 4, 30) < summary["api"]["crosses_on"] < dt.date(2024, 6, 1)
    assert summary["api"]["crosses_on_upper"] <= summary["api"]["crosses_on"]
    first = result.forecast.filter((pl.col("unique_id") == "api") & (pl.col("yhat") >= 0.8))["ds"].min()
    assert summary["api"]["crosses_on"] == first
    assert summary["db"]["status"] == "ok" and summary["db"]["crosses_on"] is None
    assert summary["queue"]["status"] == "above"
    assert result.forecast["yhat_upper"].max() <= MAX_UTILISATION
    with pytest.raises(ForecastError, match="percentages"):
        capacity_forecast(frame.with_columns(pl.col("y") * 100), 10)
    # demand above capacity for a while (the demo's surge peaks at 1.02) is data, not an error
    overloaded = frame.with_columns(pl.when(pl.col("unique_id") == "queue").then(pl.col("y") + 0.2)
                                    .otherwise(pl.col("y")).alias("y"))  # fmt: skip
    over = capacity_forecast(overloaded, 10, threshold=0.8)
    assert over.summary.filter(pl.col("unique_id") == "queue")["last_utilisation"][0] > 1.0


# --- the demo warehouse --------------------------------------------------------------------------


def test_headline_forecasts_beat_seasonal_naive_on_the_demo_company(dbt_settings: Settings) -> None:
    """Acceptance: the headline series' chosen forecast has backtest MASE below 1."""
    from analytics.warehouse import run_query

    requests = run_query(dbt_settings, """
        select request_date as ds, cast(sum(requests) as double) as y
        from staging.stg_usage__api_requests group by 1 order by 1
    """)  # fmt: skip
    report = backtest(requests, 28, n_windows=3)
    fitted = report.metrics.filter(pl.col("method") != "seasonal_naive")
    assert report.chosen is not None and report.score(report.chosen) < 1.0, report.metrics
    assert fitted["mase"].min() < 1.0, report.metrics  # a model, not only the baseline, gets under 1
    out = forecast(requests, 28, method=report.chosen)  # type: ignore[arg-type]
    assert out.height == 28 and (out["yhat"] > 0).all()
    assert_intervals(out)

    exists = run_query(dbt_settings, """
        select count(*) as n from information_schema.tables
        where table_schema = 'marts' and table_name = 'fct_mrr_summary_monthly'
    """)  # fmt: skip
    if exists["n"][0] == 0:
        pytest.skip("marts.fct_mrr_summary_monthly is not built in this warehouse: the MRR backtest needs it")
    mrr = run_query(dbt_settings, """
        select month_start as ds, cast(ending_mrr as double) as y
        from marts.fct_mrr_summary_monthly order by 1
    """)  # fmt: skip
    mrr_report = backtest(mrr, 3, freq="MS", n_windows=3)
    assert mrr_report.chosen is not None
    assert mrr_report.score(mrr_report.chosen) < 1.0, mrr_report.metrics
