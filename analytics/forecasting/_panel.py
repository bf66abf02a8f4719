"""Input checks and the regular panel every model works on.

`prepare(series, freq)` turns a caller's frame (`ds`, `y`, optional `unique_id`) into a sorted,
gap-free panel with an integer position per row, or raises `ForecastError` saying what was wrong
and how to fix it. Rules (the README's "edge cases" table repeats them):

- `y` must be numeric with no null, NaN or infinite values (error; fill or drop them first).
- `ds` must be a date or datetime on the `freq` grid: `D` any day at midnight, `W` one weekday per
  series, `MS`/`QS`/`YS` the first day of a month/quarter/year, `ME`/`QE`/`YE` the last day
  (error otherwise; aggregate first).
- `freq=None` infers the grid from the dates (`infer_freq`): all first-of-month dates -> MS, QS
  or YS by the greatest common step in months (1, 3, 12); all month-end dates -> ME, QE, YE;
  otherwise the greatest common step in days: 1 -> D, 7 -> W (one weekday per series). Any other
  step is irregular, and dates that also fit a weekly grid (e.g. only 2015-02-01 and 2015-03-01)
  are ambiguous: both are errors asking for `freq`.
- duplicate `ds` within a series: error naming the duplicates.
- missing dates (gaps) are reindexed onto the full calendar between the series' first and last
  date and filled (`fill_gaps`: linear interpolation by default, or zero, or an error); the number
  filled goes to the warning column.
- fewer than 2 observations: error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

Freq = Literal["D", "W", "MS", "ME", "QS", "QE", "YS", "YE"]
FREQS: tuple[str, ...] = ("D", "W", "MS", "ME", "QS", "QE", "YS", "YE")
DEFAULT_SEASON_LENGTH = {"D": 7, "W": 52, "MS": 12, "ME": 12, "QS": 4, "QE": 4, "YS": 1, "YE": 1}
MONTHS_PER_STEP = {"MS": 1, "ME": 1, "QS": 3, "QE": 3, "YS": 12, "YE": 12}
MONTHLY = ("MS", "ME")
FillGaps = Literal["interpolate", "zero", "error"]

# A series needs this many observations for any fitted model (ETS, ARIMA, Prophet, fast ETS);
# shorter series get the (seasonal) naive forecast with a warning.
MIN_FIT_POINTS = 10
# Fewer than this many observations: error (no forecast can be justified).
MIN_POINTS = 2
UID = "unique_id"
SINGLE = "__single__"


class ForecastError(ValueError):
    """A request the forecaster cannot serve; the message says what was wrong and how to fix it."""


class ForecastWarning(UserWarning):
    """A forecast was produced, but with a caveat (also in the result's `warning` column)."""


@dataclass
class Panel:
    """A validated, sorted, gap-free panel: `unique_id` (str), `ds` (date), `y`, `idx` (0..n-1), `n`."""

    data: pl.DataFrame
    freq: str
    has_uid: bool
    uid_dtype: pl.DataType | None
    ds_dtype: pl.DataType
    notes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def uids(self) -> list[str]:
        return self.data.get_column(UID).unique(maintain_order=True).to_list()

    def note(self, uid: str, text: str) -> None:
        self.notes.setdefault(uid, []).append(text)

    def stats(self) -> pl.DataFrame:
        """Per series: `n`, `last_ds`, `is_constant`, `nonnegative`."""
        return self.data.group_by(UID, maintain_order=True).agg(
            pl.len().cast(pl.Int64).alias("n"),
            pl.col("ds").last().alias("last_ds"),
            (pl.col("y").max() == pl.col("y").min()).alias("is_constant"),
            (pl.col("y").min() >= 0).alias("nonnegative"),
        )

    def subset(self, data: pl.DataFrame) -> Panel:
        return Panel(data, self.freq, self.has_uid, self.uid_dtype, self.ds_dtype, self.notes)


def check_freq(freq: str | None) -> None:
    if freq is not None and freq not in FREQS:
        raise ForecastError(f"freq={freq!r} is not supported: use 'D' (daily), 'W' (weekly), 'MS'/'ME' (month "
                            "start/end), 'QS'/'QE' (quarter), 'YS'/'YE' (year), or None to infer it from the dates")  # fmt: skip


def check_horizon(horizon: object) -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ForecastError(f"horizon must be a positive integer number of periods, got {horizon!r}")
    return horizon


def check_level(level: object) -> int | float:
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 100:
        raise ForecastError(f"level is the prediction-interval coverage in percent, between 0 and 100 "
                            f"(e.g. 80 or 95), got {level!r}")  # fmt: skip
    return level


def season_length_for(freq: str, season_length: int | None) -> int:
    if season_length is None:
        return DEFAULT_SEASON_LENGTH[freq]
    if isinstance(season_length, bool) or not isinstance(season_length, int) or season_length < 1:
        raise ForecastError(f"season_length must be a positive integer (1 = no seasonality), got {season_length!r}")
    return season_length


def step_dates(last: pl.Expr, step: pl.Expr, freq: str) -> pl.Expr:
    """The date `step` periods after `last` on the `freq` grid."""
    if freq == "D":
        return last + pl.duration(days=step)
    if freq == "W":
        return last + pl.duration(days=step * 7)
    months = pl.format("{}mo", step * MONTHS_PER_STEP[freq])
    if freq.endswith("E"):  # month ends: step from the month start, then back to the end
        return last.dt.month_start().dt.offset_by(months).dt.month_end()
    return last.dt.offset_by(months)


def infer_freq(frame: pl.DataFrame) -> str:
    """The date grid of a validated, sorted frame (`unique_id`, `ds` as Date); see the module
    docstring for the rules. Raises ForecastError when irregular or ambiguous."""
    ds = pl.col("ds")
    flags = frame.select((ds.dt.day() == 1).all().alias("start"), (ds == ds.dt.month_end()).all().alias("end")).row(0)
    steps = frame.select(
        ds.diff().over(UID).dt.total_days().alias("days"),
        (ds.dt.year() * 12 + ds.dt.month()).diff().over(UID).alias("months"),
    ).drop_nulls()
    if steps.height == 0:
        raise ForecastError("cannot infer the frequency from one date per series: pass freq= (e.g. 'MS' or 'D')")
    day_step = math.gcd(*steps.get_column("days").cast(pl.Int64).to_list())
    weekly_fit = day_step % 7 == 0 and frame.group_by(UID).agg(ds.dt.weekday().n_unique().alias("k"))["k"].max() == 1
    if flags[0] or flags[1]:
        month_step = math.gcd(*steps.get_column("months").cast(pl.Int64).to_list())
        family = {1: "M", 3: "Q", 12: "Y"}.get(month_step)
        kind = "first" if flags[0] else "last"
        if family is None:
            raise ForecastError(f"dates fall on the {kind} day of the month but every {month_step} months: irregular; "
                                "aggregate to months, quarters or years, or pass freq=")  # fmt: skip
        if weekly_fit:
            raise ForecastError(f"ambiguous frequency: the dates fit both a {family}-period grid and a weekly one "
                                "(too few dates to tell); pass freq= ('MS', 'W', ...)")  # fmt: skip
        return family + ("S" if flags[0] else "E")
    if day_step == 1:
        return "D"
    if day_step == 7 and weekly_fit:
        return "W"
    raise ForecastError(f"irregular dates: the common step is {day_step} days, which is no daily, weekly, monthly, "
                        "quarterly or yearly grid; aggregate first (e.g. group_by_dynamic) or pass freq=")  # fmt: skip


def _examples(values: pl.Series, k: int = 5) -> str:
    shown = [str(v) for v in values.head(k).to_list()]
    more = f" (and {values.len() - k} more)" if values.len() > k else ""
    return ", ".join(shown) + more


def prepare(series: pl.DataFrame, freq: str | None, fill_gaps: FillGaps = "interpolate") -> Panel:
    """Validate `series` and return the regular panel (see the module docstring for the rules);
    `freq=None`: inferred from the dates (the panel's `freq` says which)."""
    check_freq(freq)
    if not isinstance(series, pl.DataFrame):
        raise ForecastError(f"series must be a polars DataFrame with columns ds and y, got {type(series).__name__}")
    missing = [c for c in ("ds", "y") if c not in series.columns]
    if missing:
        raise ForecastError(f"series is missing column(s) {missing}: pass a frame with `ds` (date), `y` (number) "
                            f"and optionally `unique_id`; got columns {series.columns}")  # fmt: skip
    if series.height == 0:
        raise ForecastError("series is empty: at least 2 observations per series are needed")
    if fill_gaps not in ("interpolate", "zero", "error"):
        raise ForecastError(f"fill_gaps={fill_gaps!r}: use 'interpolate', 'zero' or 'error'")

    has_uid = UID in series.columns
    uid_dtype = series.schema[UID] if has_uid else None
    ds_dtype = series.schema["ds"]
    y_dtype = series.schema["y"]
    if not y_dtype.is_numeric():
        raise ForecastError(f"y must be numeric, got {y_dtype}: cast it (e.g. pl.col('y').cast(pl.Float64)) "
                            "after removing non-numeric values")  # fmt: skip
    if not (ds_dtype == pl.Date or isinstance(ds_dtype, pl.Datetime)):
        raise ForecastError(f"ds must be a date or datetime column, got {ds_dtype}: parse it first "
                            "(e.g. pl.col('ds').str.to_date())")  # fmt: skip

    frame = series.select(
        (pl.col(UID).cast(pl.String) if has_uid else pl.lit(SINGLE)).alias(UID),
        pl.col("ds"),
        pl.col("y").cast(pl.Float64),
    )
    if has_uid and frame.get_column(UID).null_count():
        raise ForecastError("unique_id has null values: give every row a series id")
    if frame.get_column("ds").null_count():
        raise ForecastError(f"ds has {frame.get_column('ds').null_count()} null value(s): drop those rows or give them dates")
    bad_y = frame.filter(pl.col("y").is_null() | ~pl.col("y").is_finite())
    if bad_y.height:
        raise ForecastError(f"y has {bad_y.height} null/NaN/infinite value(s), at ds {_examples(bad_y.get_column('ds'))}: "
                            "fill them (e.g. interpolate or 0) or drop those rows (dropped dates are treated as gaps)")  # fmt: skip
    if isinstance(ds_dtype, pl.Datetime):
        off_midnight = frame.filter(pl.col("ds") != pl.col("ds").dt.truncate("1d"))
        if off_midnight.height:
            raise ForecastError(f"ds has time-of-day values (e.g. {_examples(off_midnight.get_column('ds'), 3)}): "
                                f"aggregate to one row per {freq or 'day'!r} period first (e.g. group_by_dynamic)")  # fmt: skip
        frame = frame.with_columns(pl.col("ds").dt.date())

    dupes = frame.filter(pl.struct(UID, "ds").is_duplicated()).unique([UID, "ds"]).sort(UID, "ds")
    if dupes.height:
        where = dupes.get_column("ds") if not has_uid else dupes.select(pl.format("{} {}", UID, "ds")).to_series()
        raise ForecastError(f"duplicate ds within a series ({dupes.height}): {_examples(where)}; aggregate to one row "
                            "per date (e.g. group_by('ds').agg(pl.col('y').sum()))")  # fmt: skip

    frame = frame.sort(UID, "ds")
    counts = frame.group_by(UID).len()
    too_short = counts.filter(pl.col("len") < MIN_POINTS)
    if too_short.height:
        who = "" if not has_uid else f" (unique_id {_examples(too_short.get_column(UID))})"
        raise ForecastError(f"a series needs at least {MIN_POINTS} observations to forecast, got 1{who}")
    if freq is None:
        freq = infer_freq(frame)
    _check_grid(frame, freq, has_uid)

    panel = Panel(frame, freq, has_uid, uid_dtype, ds_dtype)
    panel.data = _fill_gaps(panel, frame, freq, fill_gaps)
    panel.data = panel.data.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).over(UID).alias("idx"),
        pl.len().over(UID).cast(pl.Int64).alias("n"),  # signed: backtests subtract from it
    )
    return panel


def _check_grid(frame: pl.DataFrame, freq: str, has_uid: bool) -> None:
    if freq in MONTHS_PER_STEP:
        ds = pl.col("ds")
        on_day = ds.dt.day() == 1 if freq.endswith("S") else ds == ds.dt.month_end()
        step = MONTHS_PER_STEP[freq]
        phase = ((ds.dt.year() * 12 + ds.dt.month() - 1) % step)
        off = frame.filter(~on_day | (phase != phase.first().over(UID)))
        if off.height:
            kind = ("month-start" if freq.endswith("S") else "month-end") + {1: "", 3: " quarterly", 12: " yearly"}[step]
            raise ForecastError(f"freq={freq!r} needs {kind} dates, got e.g. {_examples(off.get_column('ds'), 3)}: "
                                "aggregate by period (e.g. pl.col('ds').dt.month_start()), or pass freq=None "
                                "to infer the grid")  # fmt: skip
    elif freq == "W":
        days = frame.group_by(UID).agg(pl.col("ds").dt.weekday().n_unique().alias("k")).filter(pl.col("k") > 1)
        if days.height:
            raise ForecastError("freq='W' needs every date of a series on the same weekday"
                                + (f" (unique_id {_examples(days.get_column(UID))})" if has_uid else "")
                                + ": aggregate by week (pl.col('ds').dt.truncate('1w'))")  # fmt: skip


def _fill_gaps(panel: Panel, frame: pl.DataFrame, freq: str, fill_gaps: FillGaps) -> pl.DataFrame:
    every = {"D": "1d", "W": "1w"}.get(freq) or f"{MONTHS_PER_STEP[freq]}mo"
    bounds = frame.group_by(UID, maintain_order=True).agg(pl.col("ds").min().alias("lo"), pl.col("ds").max().alias("hi"))
    if freq.endswith("E"):  # month-end grids: step month starts, then back to the ends
        bounds = bounds.with_columns(pl.col("lo", "hi").dt.month_start())
    calendar = bounds.select(UID, pl.date_ranges("lo", "hi", interval=every).alias("ds")).explode("ds")
    if freq.endswith("E"):
        calendar = calendar.with_columns(pl.col("ds").dt.month_end())
    if calendar.height == frame.height:
        return frame
    full = calendar.join(frame, on=[UID, "ds"], how="left")
    gaps = full.filter(pl.col("y").is_null()).group_by(UID, maintain_order=True).agg(
        pl.len().alias("k"), pl.col("ds").first().alias("first")
    )
    if fill_gaps == "error":
        where = _examples(gaps.select(pl.format("{} from {}", UID, "first")).to_series()) if panel.has_uid else str(gaps["first"][0])
        raise ForecastError(f"series has {int(gaps['k'].sum())} missing date(s) on the {freq!r} grid (e.g. {where}): "
                            "fill them, or pass fill_gaps='interpolate' or 'zero'")  # fmt: skip
    how = "linear interpolation" if fill_gaps == "interpolate" else "zeros"
    for uid, k in gaps.select(UID, "k").iter_rows():
        panel.note(uid, f"{k} missing date(s) filled by {how}")
    fill = pl.col("y").interpolate().over(UID) if fill_gaps == "interpolate" else pl.col("y").fill_null(0.0)
    return full.with_columns(fill)
