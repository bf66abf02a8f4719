"""Input checks and the regular panel every model works on.

`prepare(series, freq)` turns a caller's frame (`ds`, `y`, optional `unique_id`) into a sorted,
gap-free panel with an integer position per row, or raises `ForecastError` saying what was wrong
and how to fix it. Rules (the README's "edge cases" table repeats them):

- `y` must be numeric with no null, NaN or infinite values (error; fill or drop them first).
- `ds` must be a date or datetime on the `freq` grid: `D` any day at midnight, `W` one weekday per
  series, `MS` the first of the month (error otherwise; aggregate first).
- duplicate `ds` within a series: error naming the duplicates.
- missing dates (gaps) are reindexed onto the full calendar between the series' first and last
  date and filled (`fill_gaps`: linear interpolation by default, or zero, or an error); the number
  filled goes to the warning column.
- fewer than 2 observations: error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import polars as pl

Freq = Literal["D", "W", "MS"]
FREQS: tuple[str, ...] = ("D", "W", "MS")
DEFAULT_SEASON_LENGTH = {"D": 7, "W": 52, "MS": 12}
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


def check_freq(freq: str) -> None:
    if freq not in FREQS:
        raise ForecastError(f"freq={freq!r} is not supported: use 'D' (daily), 'W' (weekly) or 'MS' (month start)")


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
    return last.dt.offset_by(pl.format("{}mo", step))


def _examples(values: pl.Series, k: int = 5) -> str:
    shown = [str(v) for v in values.head(k).to_list()]
    more = f" (and {values.len() - k} more)" if values.len() > k else ""
    return ", ".join(shown) + more


def prepare(series: pl.DataFrame, freq: str, fill_gaps: FillGaps = "interpolate") -> Panel:
    """Validate `series` and return the regular panel (see the module docstring for the rules)."""
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
                                f"aggregate to one row per {freq!r} period first (e.g. group_by_dynamic)")  # fmt: skip
        frame = frame.with_columns(pl.col("ds").dt.date())

    dupes = frame.filter(pl.struct(UID, "ds").is_duplicated()).unique([UID, "ds"]).sort(UID, "ds")
    if dupes.height:
        where = dupes.get_column("ds") if not has_uid else dupes.select(pl.format("{} {}", UID, "ds")).to_series()
        raise ForecastError(f"duplicate ds within a series ({dupes.height}): {_examples(where)}; aggregate to one row "
                            "per date (e.g. group_by('ds').agg(pl.col('y').sum()))")  # fmt: skip

    frame = frame.sort(UID, "ds")
    _check_grid(frame, freq, has_uid)

    counts = frame.group_by(UID).len()
    too_short = counts.filter(pl.col("len") < MIN_POINTS)
    if too_short.height:
        who = "" if not has_uid else f" (unique_id {_examples(too_short.get_column(UID))})"
        raise ForecastError(f"a series needs at least {MIN_POINTS} observations to forecast, got 1{who}")

    panel = Panel(frame, freq, has_uid, uid_dtype, ds_dtype)
    panel.data = _fill_gaps(panel, frame, freq, fill_gaps)
    panel.data = panel.data.with_columns(
        pl.int_range(pl.len(), dtype=pl.Int64).over(UID).alias("idx"),
        pl.len().over(UID).cast(pl.Int64).alias("n"),  # signed: backtests subtract from it
    )
    return panel


def _check_grid(frame: pl.DataFrame, freq: str, has_uid: bool) -> None:
    if freq == "MS":
        off = frame.filter(pl.col("ds").dt.day() != 1)
        if off.height:
            raise ForecastError(f"freq='MS' needs month-start dates, got e.g. {_examples(off.get_column('ds'), 3)}: "
                                "aggregate by month (pl.col('ds').dt.month_start())")  # fmt: skip
    elif freq == "W":
        days = frame.group_by(UID).agg(pl.col("ds").dt.weekday().n_unique().alias("k")).filter(pl.col("k") > 1)
        if days.height:
            raise ForecastError("freq='W' needs every date of a series on the same weekday"
                                + (f" (unique_id {_examples(days.get_column(UID))})" if has_uid else "")
                                + ": aggregate by week (pl.col('ds').dt.truncate('1w'))")  # fmt: skip


def _fill_gaps(panel: Panel, frame: pl.DataFrame, freq: str, fill_gaps: FillGaps) -> pl.DataFrame:
    every = {"D": "1d", "W": "1w", "MS": "1mo"}[freq]
    bounds = frame.group_by(UID, maintain_order=True).agg(pl.col("ds").min().alias("lo"), pl.col("ds").max().alias("hi"))
    calendar = bounds.select(UID, pl.date_ranges("lo", "hi", interval=every).alias("ds")).explode("ds")
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
