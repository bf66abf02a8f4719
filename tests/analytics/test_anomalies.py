"""analytics.anomalies: recall and precision on synthetic series with trend, weekly and yearly
seasonality and planted spikes, dips, bursts and level shifts; the edge cases (constant series,
zeros, short series, gaps, nulls, bad input); multivariate detection; anomaly windows; and the
acceptance on the demo company's planted incidents."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from analytics.anomalies import (
    DEFAULT_SENSITIVITY,
    AnomalyError,
    AnomalyWarning,
    anomaly_windows,
    detect,
    detect_many,
    detect_multivariate,
    threshold_for,
    warmup_periods,
)
from analytics.settings import Settings
from analytics.warehouse import run_query

START = dt.date(2023, 1, 2)
WEEKLY = np.array([0.0, 0.05, 0.08, 0.05, 0.0, -0.5, -0.6])  # Mon..Sun, log scale
TRANSIENT = ("spike", "dip", "dip_run", "surge_run")


def synthetic(
    seed: int, days: int = 1095, noise: float = 0.05
) -> tuple[pl.DataFrame, list[tuple[str, str, dt.date, dt.date]]]:
    """A daily series (log scale: level 1,000, +0.06%/day trend, +/-15% yearly wave, weekly profile,
    a -40% holiday Dec 24 - Jan 1, 5% noise) with planted anomalies; returns it and the windows
    (id, kind, first day, last day). A level shift's window is its first two weeks."""
    rng = np.random.default_rng(seed)
    dates = [START + dt.timedelta(days=i) for i in range(days)]
    t = np.arange(days)
    doy = np.array([d.timetuple().tm_yday for d in dates])
    holiday = np.array(
        [(d.month == 12 and d.day >= 24) or (d.month == 1 and d.day == 1) for d in dates]
    )
    log_y = (
        np.log(1000) + 0.0006 * t + 0.15 * np.sin(2 * np.pi * doy / 365.25)
        + WEEKLY[[d.weekday() for d in dates]] - 0.4 * holiday + rng.normal(0, noise, days)
    )  # fmt: skip
    sid = f"s{seed}"
    spots = rng.choice(np.arange(60, days - 30, 25), size=9, replace=False)
    kinds = ("spike", "spike", "spike", "dip", "dip", "dip_run", "surge_run", "shift", "shift_down")
    windows = []
    for p, kind in zip(spots, kinds, strict=True):
        if kind == "spike":
            size, length = rng.choice([0.4, 0.6, 1.0]), 1
        elif kind == "dip":
            size, length = -rng.choice([0.4, 0.6]), 1
        elif kind == "dip_run":
            size, length = -0.35, 4
        elif kind == "surge_run":
            size, length = 0.5, 3
        else:  # a lasting shift; its window is its first two weeks
            size, length = (0.35 if kind == "shift" else -0.35), days - p
        log_y[p : p + length] += size
        last = p + min(length, 14) - 1
        windows.append((sid, kind, dates[p], dates[last]))
    return pl.DataFrame({"unique_id": sid, "ds": dates, "y": np.exp(log_y)}), windows


@pytest.fixture(scope="module")
def planted() -> tuple[pl.DataFrame, pl.DataFrame]:
    frames, windows = zip(*(synthetic(seed) for seed in range(12)), strict=True)
    truth = pl.DataFrame(
        [w for ws in windows for w in ws],
        schema=["unique_id", "kind", "start", "end"],
        orient="row",
    )
    return pl.concat(frames), truth


def score_against(
    result: pl.DataFrame, truth: pl.DataFrame, kinds: tuple[str, ...]
) -> tuple[float, float]:
    """(recall over planted windows of `kinds`, precision of flagged days against all windows)."""
    inside = result.join(truth, on="unique_id").filter(pl.col("ds").is_between("start", "end"))
    per_window = inside.group_by("unique_id", "kind", "start").agg(
        pl.col("is_anomaly").any().alias("hit")
    )
    recall = per_window.filter(pl.col("kind").is_in(kinds))["hit"].mean()
    flagged = result.filter("is_anomaly").select("unique_id", "ds")
    true = flagged.join(inside.select("unique_id", "ds").unique(), on=["unique_id", "ds"])
    return float(recall), true.height / max(1, flagged.height)  # type: ignore[arg-type]


# --- the univariate detector on planted anomalies -------------------------------------------------


def test_recall_and_precision_on_seasonal_trending_series(
    planted: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    series, truth = planted
    result = detect(series)
    recall, precision = score_against(result, truth, TRANSIENT)
    print(
        f"\nsynthetic, centred baseline, default sensitivity: recall {recall:.3f}, precision {precision:.3f}"
    )
    assert recall >= 0.9 and precision >= 0.95
    assert result.columns == [
        "unique_id",
        "ds",
        "y",
        "expected",
        "lower",
        "upper",
        "score",
        "is_anomaly",
        "warmup",
    ]
    assert result.height == series.height


def test_level_shifts_with_the_trailing_baseline(
    planted: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    series, truth = planted
    result = detect(series, baseline="trailing")
    recall, precision = score_against(result, truth, ("shift", "shift_down"))
    all_recall, _ = score_against(result, truth, (*TRANSIENT, "shift", "shift_down"))
    print(
        f"\nsynthetic, trailing baseline: shift recall {recall:.3f}, all recall {all_recall:.3f}, precision {precision:.3f}"
    )
    assert recall >= 0.9 and all_recall >= 0.9 and precision >= 0.95


def test_centred_baseline_flags_a_new_level_shift_and_then_adopts_it() -> None:
    rng = np.random.default_rng(3)
    dates = [START + dt.timedelta(days=i) for i in range(200)]
    y = 100 * np.exp(rng.normal(0, 0.03, 200))
    old, new = y.copy(), y.copy()
    old[100:] *= 1.5  # a shift 100 days before the end: the new normal, nothing to report
    new[195:] *= 1.5  # a shift in the last 5 days: reported
    judged_old = detect(pl.DataFrame({"ds": dates, "y": old}))
    judged_new = detect(pl.DataFrame({"ds": dates, "y": new}))
    assert not judged_old["is_anomaly"].any()
    assert judged_new["is_anomaly"][195:].all() and not judged_new["is_anomaly"][:195].any()


def test_the_anomaly_does_not_move_its_own_expected_value() -> None:
    series, _ = synthetic(5)
    spiked = series.with_columns(
        pl.when(pl.int_range(pl.len()) == 400).then(pl.col("y") * 4).otherwise("y").alias("y")
    )
    clean, dirty = detect(series), detect(spiked)
    assert dirty["is_anomaly"][400] and dirty["score"][400] > 20
    assert dirty["expected"][400] == pytest.approx(clean["expected"][400], rel=0.01)
    # nor its neighbours' (medians); the range around it widens only by the spike's one rank in
    # the local noise quantile (+0.4 robust sigma here, bounded whatever the spike's size)
    assert (dirty["expected"] == clean["expected"]).all()
    assert dirty["upper"][390:411].to_numpy() == pytest.approx(
        clean["upper"][390:411].to_numpy(), rel=0.05
    )


def test_sensitivity_is_a_monotone_knob_and_the_range_matches_the_flags(
    planted: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    series, _ = planted
    assert DEFAULT_SENSITIVITY == 0.5 and threshold_for(0.5) == 5.0
    assert threshold_for(0) == 8.0 and threshold_for(1) == 2.0
    counts = [int(detect(series, s)["is_anomaly"].sum()) for s in (0.0, 0.5, 0.9)]
    assert counts[0] <= counts[1] < counts[2]
    result = detect(series, 0.7)
    outside = (pl.col("y") < pl.col("lower")) | (pl.col("y") > pl.col("upper"))
    mismatch = result.filter(outside != pl.col("is_anomaly"))
    assert mismatch.height <= 2  # only float ties at the boundary could differ
    assert (result["lower"] <= result["expected"]).all() and (
        result["expected"] <= result["upper"]
    ).all()


def test_additive_series_crossing_zero() -> None:
    rng = np.random.default_rng(11)
    dates = [START + dt.timedelta(days=i) for i in range(400)]
    y = (
        50 * np.sin(np.arange(400) / 30)
        + WEEKLY[[d.weekday() for d in dates]] * 40
        + rng.normal(0, 3, 400)
    )
    y[200] += 40
    y[300] -= 40
    result = detect(pl.DataFrame({"ds": dates, "y": y}))
    assert set(result.filter("is_anomaly")["ds"].to_list()) == {dates[200], dates[300]}
    assert (result["lower"] < 0).any()  # not clipped: the series itself goes negative


def test_monthly_growth_series_with_a_dip() -> None:
    rng = np.random.default_rng(2)
    months = pl.date_range(dt.date(2023, 1, 1), dt.date(2026, 6, 1), "1mo", eager=True)
    mrr = 10_000 * np.exp(0.04 * np.arange(len(months))) * np.exp(rng.normal(0, 0.01, len(months)))
    mrr[30] *= 0.8
    result = detect(pl.DataFrame({"ds": months, "y": mrr}), freq="M")
    assert result.filter("is_anomaly")["ds"].to_list() == [months[30]]
    # the first 2 months are its warm-up; the end of a steadily growing series is not mistaken
    # for an anomaly (the last levels are extrapolated, the range widened by the rule's history)
    assert result["warmup"].to_list() == [True] * warmup_periods("M") + [False] * (len(months) - 2)
    assert result["score"][-1] < 3 and result["score"][warmup_periods("M")] < 3


def test_many_series_in_one_call_match_one_at_a_time(
    planted: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    series, _ = planted
    together = detect(series)
    one = detect(series.filter(pl.col("unique_id") == "s3").drop("unique_id"))
    mine = together.filter(pl.col("unique_id") == "s3").drop("unique_id")
    assert one.equals(mine)
    renamed = series.rename({"unique_id": "customer", "ds": "day", "y": "requests"})
    many = detect_many(renamed, id_col="customer", ds_col="day", y_col="requests")
    assert many.columns[:3] == ["customer", "day", "requests"]
    assert many["score"].equals(together["score"])


# --- warm-up and the end of a series ---------------------------------------------------------------


def ramp_start(seed: int, days: int = 200) -> pl.DataFrame:
    """A usage-like daily series whose first 5 days hold 1-5% of its level, as the demo's API
    requests do (accounts still arriving when the data starts): a benign start, not an incident."""
    rng = np.random.default_rng(seed)
    dates = [dt.date(2024, 11, 1) + dt.timedelta(days=i) for i in range(days)]
    y = 80_000 * np.exp(WEEKLY[[d.weekday() for d in dates]] + rng.normal(0, 0.08, days))
    y[:5] *= np.array([0.015, 0.01, 0.03, 0.04, 0.05])
    return pl.DataFrame({"unique_id": f"r{seed}", "ds": dates, "y": y})


def test_no_flags_in_the_warm_up_and_the_first_scored_day_is_the_stated_one() -> None:
    """The demo's api_requests was "down 98%" on its first 5 days before the warm-up rule."""
    frame = pl.concat([ramp_start(seed) for seed in range(5)])
    result = detect(frame)
    n = warmup_periods("D")
    assert n == 14
    for _, rows in result.group_by("unique_id"):
        first = rows["ds"].min()
        warm = rows.filter("warmup")
        assert warm["ds"].max() == first + dt.timedelta(days=n - 1)  # type: ignore[operator]
        assert not warm["is_anomaly"].any() and warm["score"].is_null().all()
        assert warm["lower"].is_null().all() and warm["expected"].is_null().all()
        scored = rows.filter(pl.col("score").is_not_null())
        assert scored["ds"].min() == first + dt.timedelta(days=n)  # type: ignore[operator]
    assert not result["is_anomaly"].any()  # nothing after the warm-up either
    # warm-up counts from the first observed value: leading nulls shift it
    late = ramp_start(0).with_columns(
        pl.when(pl.int_range(pl.len()) < 3).then(None).otherwise("y").alias("y")
    )
    assert detect(late)["warmup"].arg_min() == 3 + n


def test_warm_up_per_grain() -> None:
    assert [warmup_periods(f) for f in ("D", "W", "M", "Q", "Y")] == [14, 4, 2, 2, 2]
    weeks = pl.date_range(dt.date(2024, 1, 1), dt.date(2025, 12, 29), "1w", eager=True)
    y = 1000 * np.exp(np.random.default_rng(1).normal(0, 0.03, len(weeks)))
    y[0] = 10.0  # a first, partial week
    result = detect(pl.DataFrame({"ds": weeks, "y": y}), freq="W")
    assert result["warmup"].sum() == 4 and not result["is_anomaly"].any()


def test_multivariate_scores_nothing_in_the_warm_up() -> None:
    frame = usage(4, customers=2).with_columns(
        pl.when(pl.int_range(pl.len()).over("customer") < 3).then(pl.col("errors") * 20 + 100)
        .otherwise("errors").alias("errors")
    )  # fmt: skip
    result = detect_multivariate(frame, "customer", "ds")
    early = result.filter(pl.int_range(pl.len()).over("customer") < warmup_periods("D"))
    assert early["score"].is_null().all() and not early["is_anomaly"].any()
    assert (
        result.filter(pl.int_range(pl.len()).over("customer") >= warmup_periods("D"))["score"]
        .is_not_null()
        .all()
    )


@pytest.mark.parametrize("age", [0, 4, 8, 12])
def test_a_recent_shift_at_the_end_is_flagged_from_its_first_day(age: int) -> None:
    """Before, the last days' residuals set their own noise scale: a shift 5-13 days old was
    adopted silently (0 of 32 such days flagged on `benchmarks/anomalies.py --quality`)."""
    rng = np.random.default_rng(age)
    dates = [START + dt.timedelta(days=i) for i in range(300)]
    y = 500 * np.exp(WEEKLY[[d.weekday() for d in dates]] + rng.normal(0, 0.04, 300))
    y[300 - age - 1 :] *= 0.6
    result = detect(pl.DataFrame({"ds": dates, "y": y}))
    assert result["is_anomaly"][-1]
    assert result["is_anomaly"][300 - age - 1 :].mean() >= 0.8  # type: ignore[operator]
    assert not result["is_anomaly"][: 300 - age - 1].any()


def test_the_end_of_a_smooth_bending_series_is_not_flagged() -> None:
    """Daily MRR-like: smooth, almost noise-free, growth slowing. The last levels are
    extrapolated along the recent slope; the range widens by the error that rule made on the
    series' own history, so the bend is not an anomaly."""
    dates = [START + dt.timedelta(days=i) for i in range(400)]
    t = np.arange(400)
    for y in (10 + 10 * np.sqrt(t / 400), 50 * np.exp(0.004 * t), 1000 - 0.005 * t**2):
        result = detect(pl.DataFrame({"ds": dates, "y": y}))
        assert not result["is_anomaly"].any(), result.filter("is_anomaly")


# --- edge cases -------------------------------------------------------------------------------------

DAYS = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(180)]


def test_constant_series_and_a_single_deviation() -> None:
    flat = detect(pl.DataFrame({"ds": DAYS, "y": [5.0] * 180})).filter(~pl.col("warmup"))
    assert not flat["is_anomaly"].any() and (flat["score"] < 1e-6).all()
    assert flat["expected"].to_numpy() == pytest.approx(5.0)
    y = [5.0] * 180
    y[100] = 9.0
    spiked = detect(pl.DataFrame({"ds": DAYS, "y": y}))
    assert spiked.filter("is_anomaly")["ds"].to_list() == [DAYS[100]]
    assert spiked["score"].is_finite().all()


def test_series_of_zeros_and_sparse_counts() -> None:
    zeros = detect(pl.DataFrame({"ds": DAYS, "y": [0] * 180}))
    assert (
        not zeros["is_anomaly"].any()
        and (zeros["expected"] == 0).all()
        and (zeros["lower"] == 0).all()
    )
    counts = np.random.default_rng(4).poisson(0.3, 180).astype(float)  # mostly 0, some 1s and 2s
    counts[90] = 7
    judged = detect(pl.DataFrame({"ds": DAYS, "y": counts}))
    assert judged.filter("is_anomaly")["ds"].to_list() == [DAYS[90]]
    assert (judged["lower"] >= 0).all()


def test_short_series_are_returned_unjudged_with_a_warning() -> None:
    short = pl.DataFrame(
        {"unique_id": "new", "ds": DAYS[:10], "y": [1.0, 2, 3, 4, 50, 6, 7, 8, 9, 10]}
    )
    long = pl.DataFrame({"unique_id": "old", "ds": DAYS, "y": [5.0] * 179 + [50.0]})
    with pytest.warns(AnomalyWarning, match="1 series not judged.*'new'"):
        result = detect(pl.concat([short, long]))
    new = result.filter(pl.col("unique_id") == "new")
    assert (
        not new["is_anomaly"].any()
        and new["score"].is_null().all()
        and new["lower"].is_null().all()
    )
    assert (new["expected"] == 6.5).all()  # the median
    assert result.filter(pl.col("unique_id") == "old")["is_anomaly"][-1]  # the others are judged
    with pytest.warns(AnomalyWarning):
        assert not detect(short.drop("unique_id"), min_points=20)["is_anomaly"].any()
    assert new["warmup"].all()  # not judged: counted as warm-up
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # judged (no warning), but 10 days are all warm-up
        judged = detect(short.drop("unique_id"), min_points=5)
    assert judged["warmup"].all() and judged["score"].is_null().all()


def test_gaps_nulls_and_nan() -> None:
    rng = np.random.default_rng(0)
    y = 100 + rng.normal(0, 2, 180)
    y[120] = 160
    frame = pl.DataFrame({"ds": DAYS, "y": y})
    gappy = frame.filter(~pl.col("ds").is_between(dt.date(2025, 3, 1), dt.date(2025, 3, 20)))
    result = detect(gappy)
    assert result.height == gappy.height and result["ds"].equals(gappy["ds"])
    assert result.filter("is_anomaly")["ds"].to_list() == [DAYS[120]]
    holes = frame.with_columns(
        pl.when(pl.col("ds").dt.day() == 5).then(None).when(pl.col("ds").dt.day() == 6).then(float("nan"))
        .otherwise(pl.col("y")).alias("y")
    )  # fmt: skip
    result = detect(holes)
    missing = result.filter(pl.col("ds").dt.day().is_in([5, 6]))
    assert missing["score"].is_null().all() and not missing["is_anomaly"].any()
    missing = missing.filter(~pl.col("warmup"))  # Jan 5 and 6 are in the warm-up
    assert missing["expected"].is_not_null().all() and missing["upper"].is_not_null().all()
    assert result.filter("is_anomaly")["ds"].to_list() == [DAYS[120]]


def test_datetimes_integer_ids_and_an_empty_frame() -> None:
    frame = pl.DataFrame({"unique_id": 7, "ds": DAYS, "y": np.linspace(10, 20, 180)})
    stamped = detect(frame.with_columns(pl.col("ds").cast(pl.Datetime("us", "UTC"))))
    assert stamped.schema["ds"] == pl.Datetime("us", "UTC")
    assert stamped.schema["unique_id"] == frame.schema["unique_id"]
    assert not stamped["is_anomaly"].any()
    empty = detect(frame.clear())
    assert empty.height == 0 and empty.columns[-2:] == ["is_anomaly", "warmup"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sensitivity": 1.5}, "sensitivity must be between 0"),
        ({"freq": "fortnight"}, "unknown freq"),
        ({"freq": "M", "seasonality": ["weekly"]}, "needs daily data"),
        ({"seasonality": ["monthly"]}, "unknown seasonality"),
        ({"baseline": "past"}, "baseline must be"),
        ({"transform": "sqrt"}, "transform must be"),
    ],
)
def test_bad_knobs_are_clear_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(AnomalyError, match=message):
        detect(pl.DataFrame({"ds": DAYS, "y": [1.0] * 180}), **kwargs)  # type: ignore[arg-type]


def test_bad_input_is_a_clear_error() -> None:
    frame = pl.DataFrame({"ds": DAYS, "y": [1.0] * 180})
    with pytest.raises(AnomalyError, match="missing column"):
        detect(frame.rename({"y": "value"}))
    with pytest.raises(AnomalyError, match="more than one row in the D period"):
        detect(pl.concat([frame, frame.head(1)]))
    with pytest.raises(AnomalyError, match="must be a Date or Datetime"):
        detect(frame.with_columns(pl.col("ds").cast(pl.String)))
    with pytest.raises(AnomalyError, match="needs values > 0"):
        detect(frame.with_columns(y=pl.lit(0.0)), transform="log")
    with pytest.raises(AnomalyError, match="monthly|M period"):
        detect(frame, freq="M")  # 180 days are not one value per month
    assert issubclass(AnomalyError, ValueError)


# --- multivariate ---------------------------------------------------------------------------------


def usage(seed: int, customers: int = 6, days: int = 240) -> pl.DataFrame:
    """Per customer and day: requests, feature events (moving with requests), errors, p95 latency."""
    rng = np.random.default_rng(seed)
    dates = [START + dt.timedelta(days=i) for i in range(days)]
    week = np.exp(WEEKLY[[d.weekday() for d in dates]])
    rows = []
    for c in range(customers):
        activity = rng.lognormal(6, 0.5) * week * np.exp(rng.normal(0, 0.1, days))
        rows.append(pl.DataFrame({
            "customer": f"c{c}", "ds": dates,
            "requests": activity * np.exp(rng.normal(0, 0.05, days)),
            "events": activity / 20 * np.exp(rng.normal(0, 0.05, days)),
            "errors": rng.poisson(activity * 0.01).astype(float),
            "p95": 400 * np.exp(rng.normal(0, 0.05, days)),
        }))  # fmt: skip
    return pl.concat(rows)


def test_multivariate_flags_unusual_patterns_with_their_top_feature() -> None:
    frame = usage(1)
    day = START + dt.timedelta(days=150)
    planted = frame.with_columns(
        pl.when((pl.col("customer") == "c0") & (pl.col("ds") == day)).then(pl.col("p95") * 5).otherwise("p95").alias("p95"),
        # c1 keeps calling the API but stops using the product: the usual relation breaks
        pl.when((pl.col("customer") == "c1") & (pl.col("ds") == day)).then(pl.col("events") * 0.25).otherwise("events").alias("events"),
    )  # fmt: skip
    result = detect_multivariate(planted, "customer", "ds", ["requests", "events", "errors", "p95"])
    assert result.columns[:7] == [
        "customer",
        "ds",
        "score",
        "is_anomaly",
        "top_feature",
        "top_share",
        "direction",
    ]
    assert {"z_requests", "z_events", "z_errors", "z_p95"} <= set(result.columns)
    hits = result.filter("is_anomaly")
    c0 = hits.filter((pl.col("customer") == "c0") & (pl.col("ds") == day)).row(0, named=True)
    c1 = hits.filter((pl.col("customer") == "c1") & (pl.col("ds") == day)).row(0, named=True)
    assert (c0["top_feature"], c0["direction"]) == ("p95", "up")
    assert (c1["top_feature"], c1["direction"]) == ("events", "down")
    assert hits.height <= 4, hits  # a quiet history stays quiet (6 customers x 240 days)


def test_multivariate_defaults_to_every_numeric_column_and_handles_short_histories() -> None:
    frame = usage(2, customers=3)
    newcomer = (
        frame.filter(pl.col("customer") == "c2").head(10).with_columns(customer=pl.lit("new"))
    )
    with pytest.warns(AnomalyWarning, match="1 entities not judged.*'new'"):
        result = detect_multivariate(pl.concat([frame, newcomer]), id_col="customer")
    assert [c for c in result.columns if c.startswith("z_")] == [
        "z_requests",
        "z_events",
        "z_errors",
        "z_p95",
    ]
    assert result.filter(pl.col("customer") == "new")["score"].is_null().all()
    with pytest.raises(AnomalyError, match="more than one row"):
        detect_multivariate(pl.concat([frame, frame.head(1)]), id_col="customer")


# --- windows --------------------------------------------------------------------------------------


def test_anomaly_windows_are_contiguous_runs_with_peak_and_direction() -> None:
    flags = [False] * 10
    for i in (2, 3, 4, 7):
        flags[i] = True
    result = pl.DataFrame({
        "unique_id": "a", "ds": DAYS[:10], "y": [1.0, 1, 5, 9, 6, 1, 1, 0, 1, 1],
        "expected": [1.0] * 10, "score": [0.0, 0, 4, 8, 5, 0, 0, 6, 0, 0], "is_anomaly": flags,
    })  # fmt: skip
    windows = anomaly_windows(result)
    assert [(w.start, w.end, w.periods) for w in windows] == [
        (DAYS[2], DAYS[4], 3),
        (DAYS[7], DAYS[7], 1),
    ]
    first, second = windows
    assert (first.peak_ds, first.peak_score, first.direction, first.deviation) == (
        DAYS[3],
        8.0,
        "up",
        8.0,
    )
    assert (second.direction, second.series_id) == ("down", "a")
    merged = anomaly_windows(result, max_gap=2)
    assert len(merged) == 1 and merged[0].periods == 4 and merged[0].end == DAYS[7]
    assert anomaly_windows(result.with_columns(is_anomaly=pl.lit(False))) == []
    assert set(first.as_dict()) >= {"start", "end", "peak_score", "direction"}


def test_anomaly_windows_of_real_results() -> None:
    series, _ = synthetic(8)
    windows = anomaly_windows(detect(series))
    assert windows and all(w.series_id == "s8" and w.start <= w.peak_ds <= w.end for w in windows)
    frame = usage(3, customers=2)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()).over("customer") == 100).then(pl.col("errors") * 10 + 50)
        .otherwise("errors").alias("errors")
    )  # fmt: skip
    mv = anomaly_windows(detect_multivariate(frame, "customer", "ds"), id_col="customer")
    assert {w.series_id for w in mv} == {"c0", "c1"}
    assert all(
        w.top_feature == "errors" and w.direction == "up"
        for w in mv
        if w.peak_ds == START + dt.timedelta(days=100)
    )


# --- acceptance on the demo company -----------------------------------------------------------------


def demo_series(settings: Settings) -> pl.DataFrame:
    """The daily series each planted incident shows in, from the warehouse's staging models:
    outage -> API error rate and p95 latency (request-weighted mean of the per-account, per-endpoint
    p95); usage surge -> total API requests; revenue dip -> failed charge attempts per day."""
    api = run_query(settings, """
        select request_date as ds, sum(requests) as requests, sum(errors) as errors,
               sum(latency_p95_ms * requests) / sum(requests) as p95
        from staging.stg_usage__api_requests group by 1
    """).with_columns(pl.col("ds").cast(pl.Date))  # fmt: skip
    charges = run_query(settings, """
        select cast(created_at as date) as ds, count(*) as attempts,
               sum(case when is_successful then 0 else 1 end) as failed
        from staging.stg_stripe__charges group by 1
    """).with_columns(pl.col("ds").cast(pl.Date))  # fmt: skip
    days = pl.DataFrame({"ds": pl.date_range(api["ds"].min(), api["ds"].max(), eager=True)})  # type: ignore[arg-type]
    failed = days.join(charges, on="ds", how="left").select(
        "ds", pl.col("failed").fill_null(0).cast(pl.Float64)
    )
    series = {
        ("api_error_rate", "outage"): api.select(
            "ds", (pl.col("errors") / pl.col("requests")).alias("y")
        ),
        ("api_latency_p95", "outage"): api.select("ds", pl.col("p95").alias("y")),
        ("api_requests", "usage_surge"): api.select(
            "ds", pl.col("requests").cast(pl.Float64).alias("y")
        ),
        ("failed_charges", "revenue_dip"): failed.rename({"failed": "y"}),
    }
    return pl.concat(
        [
            s.with_columns(unique_id=pl.lit(name), kind=pl.lit(kind))
            for (name, kind), s in series.items()
        ]
    ).sort("unique_id", "ds")


def demo_scores(
    settings: Settings, detector: Callable[..., pl.DataFrame] = detect
) -> tuple[pl.DataFrame, pl.DataFrame, float, float]:
    """The detector (default `detect`, default sensitivity) on `demo_series` against the planted
    incidents of `demo_truth.anomalies`: (hit per incident and series, flagged days, recall over
    (incident, series) pairs, precision of flagged days). Also printed by
    `benchmarks/anomalies.py --demo`."""
    truth = run_query(
        settings, 'select anomaly_id, kind, metrics, start, "end" from demo_truth.anomalies'
    )
    windows = truth.select(
        "anomaly_id", "kind",
        pl.col("start").dt.date().alias("first"),
        (pl.col("end") - pl.duration(microseconds=1)).dt.date().alias("last"),  # end is exclusive
    )  # fmt: skip
    assert set(windows["kind"]) == {"outage", "revenue_dip", "usage_surge"}
    series = demo_series(settings)
    result = detector(series.select("unique_id", "ds", "y")).join(
        series.select("unique_id", "ds", "kind"), on=["unique_id", "ds"]
    )
    inside = result.join(windows, on="kind").filter(pl.col("ds").is_between("first", "last"))
    per_window = (
        inside.group_by("anomaly_id", "unique_id")
        .agg(pl.col("is_anomaly").any().alias("hit"))
        .sort("anomaly_id", "unique_id")
    )
    flagged = result.filter("is_anomaly")
    true_days = flagged.join(
        inside.select("unique_id", "ds").unique(), on=["unique_id", "ds"]
    ).height
    recall = float(per_window["hit"].mean())  # type: ignore[arg-type]
    return per_window, flagged, recall, true_days / max(1, flagged.height)


def test_acceptance_planted_demo_anomalies_at_the_default_sensitivity(
    dbt_settings: Settings,
) -> None:
    per_window, flagged, recall, precision = demo_scores(dbt_settings)
    recall_incidents = per_window.group_by("anomaly_id").agg(pl.col("hit").any())["hit"].mean()
    print(
        f"\ndemo acceptance at sensitivity {DEFAULT_SENSITIVITY} (k = {threshold_for(DEFAULT_SENSITIVITY)}):"
    )
    print(per_window)
    print(flagged.select("unique_id", "ds", "y", "expected", "upper", "score"))
    print(f"recall {recall:.3f} over (incident, series) pairs ({per_window['hit'].sum()}/{per_window.height}), "
          f"{recall_incidents:.3f} over incidents; precision {precision:.3f} ({flagged.height} flagged days)")  # fmt: skip
    assert per_window.height == 4  # outage in 2 series, dip and surge in 1 each
    # At this suite's scale 0.3 the payment-processor dip is 2-3 failed charges a day for five
    # days against ~0.3 normally (about 4 charges a day in all): a count that small stays under
    # 5 robust sigmas, so the dip is the one pair allowed to be missed here. At scale 1 every pair
    # is found at precision 1.0 (`python -m benchmarks.anomalies --quality --demo DATA_DIR`).
    hits = dict(zip(per_window["unique_id"], per_window["hit"], strict=True))
    assert hits["api_error_rate"] and hits["api_latency_p95"] and hits["api_requests"]
    assert recall >= 0.75
    assert precision >= 0.8
