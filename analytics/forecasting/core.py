"""`forecast`, `backtest` and `quality_warnings`: the public face of the forecasting library.

Models (the `method` argument and the result's `method` column):

- `auto` (default) = `ensemble`: the equal-weight mean of seasonal naive, Theta on the seasonally
  adjusted series and the best seasonal damped-trend ETS and damped-only ETS, all vectorised
  over series (`_fast_ets.py`, `_ensemble.py`); intervals are the ETS standard error scaled by
  signed-error quantiles from a rolling-origin backtest of the same combination (conformal
  style), so their coverage is measured, not assumed. A fixed combination, not a per-series
  choice: choosing per series on a short backtest was measured to add noise. `candidates=`
  restores the per-series backtest choice among the given methods (opt-in).
- `theta`, `fast_ets`: the combination's members alone (normal intervals, not calibrated).
- `ets`: statsforecast AutoETS (AICc model search); `arima`: statsforecast AutoARIMA (~3.5 s per
  fit on 730 days, never chosen unless asked for); both with n_jobs = cores (<= 2) from 50 series.
- `prophet`: Prophet, one fit per series (~1 s), yearly seasonality once two years exist.
- `seasonal_naive`: the baseline (statsforecast's SeasonalNaive / Naive formulas, vectorised).

Measured (`uv run python benchmarks/forecasting_public.py`: all monthly series of M1 and tourism,
the competitions' horizons, 80% intervals; series/s on 2 cores shared with other jobs, load ~8):

| set (series, h) | method | sMAPE | MASE | coverage | series/s |
|---|---|---|---|---|---|
| M1 (617, 18) | seasonal naive | 17.30 | 1.314 | 74.2% | 15,460 |
| | statsforecast AutoETS (n_jobs=2) | 14.91 | 1.090 | 69.4% | 5.7 |
| | theta / fast_ets alone | 16.56 / 15.08 | 1.087 / 1.064 | 86.7% / 75.7% | 13,810 / 745 |
| | auto (ensemble) | 14.82 | 1.025 | 81.9% | 2,770 (idle) |
| tourism (366, 24) | seasonal naive | 21.67 | 1.631 | 75.9% | 6,092 |
| | statsforecast AutoETS (n_jobs=2) | 19.09 | 1.531 | 82.3% | 3.6 |
| | theta / fast_ets alone | 20.16 / 19.13 | 1.678 / 1.543 | 94.4% / 72.6% | 4,771 / 549 |
| | auto (ensemble) | 18.42 | 1.465 | 80.0% | 1,108 (idle) |

The combination was chosen on these two sets (no held-out third set), so treat its margin over
AutoETS as optimistic; every member and the combination rule are standard in the literature.
Seasonal naive joins the mean only for series with two seasons and significant seasonality (M1
before that rule: sMAPE 14.34, MASE 1.022; it made the demo's 24-month MRR forecast fall 9% the
next month). A single short series has too few held-out errors to narrow its interval below the
model's own +-z (demo MRR coverage 42% -> 100% on 12 points). On the demo's headline series
(scale 1, seed 42, the calibrated company) the backtest MASE is 0.54 for daily API volume (28
days x 3 windows), 0.50 for paying customers and 0.91 for recognised revenue, and 1.10 for MRR
(6 months x 2 windows on 24 months of history): `quality_warnings` says so in its answers.

Edge cases (decisions; the README repeats them):

| input | result |
|---|---|
| fewer than 2 observations in a series | `ForecastError` |
| fewer than 10 observations (MIN_FIT_POINTS) | seasonal naive / naive forecast, warning |
| fewer than two seasons (2 x season_length) | models fitted without seasonality, warning |
| missing dates | reindexed and filled (linear interpolation; `fill_gaps="zero"` or `"error"`), warning |
| constant series (incl. all zeros) | the constant, zero-width intervals, method `naive`, warning |
| horizon longer than the history | allowed, not capped: warning that it extrapolates with wide intervals |
| history with no negative values | forecasts and bounds clipped at zero |
| null / NaN / infinite / non-numeric y | `ForecastError` naming the dates |
| duplicate ds in a series | `ForecastError` naming the duplicates |
| ds off the freq grid / with times of day | `ForecastError` saying how to aggregate |
| no `freq` given | inferred from the dates (D, W, MS/ME, QS/QE, YS/YE); irregular or ambiguous dates: `ForecastError` |

Warnings are in the result's `warning` column (null when none) and raised once per call as a
`ForecastWarning`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl

from . import _engine
from ._panel import (
    UID,
    FillGaps,
    ForecastError,
    ForecastWarning,
    Panel,
    check_freq,
    check_horizon,
    check_level,
    prepare,
    season_length_for,
    step_dates,
)

Method = Literal["auto", "ensemble", "theta", "fast_ets", "ets", "arima", "prophet", "seasonal_naive"]
AUTO_METHOD = "ensemble"
# what `backtest` compares by default: the `auto` model, the well-kept libraries' models (Prophet and
# AutoETS cost ~1 s and ~0.1 s per fit, so only for one series) and the baseline
SINGLE_SERIES_CANDIDATES = ("ensemble", "fast_ets", "prophet", "ets", "seasonal_naive")
MANY_SERIES_CANDIDATES = ("ensemble", "seasonal_naive")
DEFAULT_N_WINDOWS = 3
# coverage further than this from nominal (or than 2 binomial standard errors of the backtest's
# point count, if larger) is reported as off by `quality_warnings`
COVERAGE_TOLERANCE = 0.05


@dataclass(frozen=True)
class BacktestReport:
    """Rolling-origin backtest: per method MAE, sMAPE (percent, 0-200), MASE and interval
    coverage, averaged over series; the chosen method (lowest mean MASE, ties by MAE).

    MASE = backtest MAE / in-sample MAE of the seasonal naive forecast on the training window
    (lag = season length; lag 1 when the window has fewer than two seasons), averaged over
    windows; below 1 beats the seasonal naive in-sample benchmark. `relative_mae` is MAE divided
    by the seasonal naive *forecast's* backtest MAE (below 1 beats it out of sample), present
    when `seasonal_naive` is among the methods.
    """

    horizon: int
    freq: str
    season_length: int
    n_windows: int
    methods: tuple[str, ...]
    metrics: pl.DataFrame  # method, mae, smape, mase, coverage, relative_mae, n_series
    by_series: pl.DataFrame  # unique_id, method, mae, smape, mase, coverage, windows
    chosen: str | None
    chosen_by_series: dict[Any, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    level: float = 80

    def score(self, method: str, metric: str = "mase") -> float:
        row = self.metrics.filter(pl.col("method") == method)
        if row.height == 0:
            raise KeyError(f"{method!r} was not backtested; methods: {list(self.methods)}")
        return float(row.get_column(metric)[0])

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for asset metadata, MCP answers, logs)."""
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and (math.isnan(v) or math.isinf(v)) else v

        return {
            "horizon": self.horizon, "freq": self.freq, "season_length": self.season_length,
            "n_windows": self.n_windows, "chosen": self.chosen, "level": self.level,
            "metrics": [{k: clean(v) for k, v in row.items()} for row in self.metrics.to_dicts()],
            "warnings": list(self.warnings),
        }  # fmt: skip


def forecast(
    series: pl.DataFrame,
    horizon: int,
    *,
    freq: str | None = None,
    method: Method = "auto",
    level: float = 80,
    season_length: int | None = None,
    candidates: Sequence[str] | None = None,
    n_windows: int = DEFAULT_N_WINDOWS,
    fill_gaps: FillGaps = "interpolate",
) -> pl.DataFrame:
    """Forecast one or many series `horizon` periods ahead, with prediction intervals.

    `series`: polars frame with `ds` (date, or datetime at midnight), `y` (number) and optionally
    `unique_id` (many series at once). `freq`: "D", "W", "MS"/"ME" (month start/end), "QS"/"QE",
    "YS"/"YE", or None (default) to infer it from the dates (an error when they are irregular or
    ambiguous). `level`: interval coverage in percent. `season_length`: defaults 7 (D), 52 (W),
    12 (months), 4 (quarters), 1 (years; 1 = no seasonality).
    `method="auto"` is the fixed `ensemble` (see the module docstring); with `candidates` given it
    instead backtests them (`n_windows` rolling origins) and uses, per series, the one with the
    lowest MASE (measured to add noise on the public sets: opt-in only).

    Returns `ds` (the input's dtype), `yhat`, `yhat_lower`, `yhat_upper`, `method` (the model that
    produced the row) and `warning` (null, or why the result needs care), plus `unique_id` first
    when the input had it. See the module docstring for the edge-case rules.
    """
    check_freq(freq)
    h = check_horizon(horizon)
    lvl = check_level(level)
    _check_method(method, allow_auto=True)
    _check_windows(n_windows)
    panel = prepare(series, freq, fill_gaps)
    freq = panel.freq
    m = season_length_for(freq, season_length)
    stats = panel.stats()
    for uid, n in stats.select(UID, "n").iter_rows():
        if h > n:
            panel.note(uid, f"horizon ({h}) is longer than the history ({n} points): the forecast extrapolates "
                            "beyond anything observed; its intervals are wide")  # fmt: skip

    if method == "auto" and candidates is None:
        result = _engine.forecast_panel(panel, panel.data, AUTO_METHOD, h, m, lvl)
    elif method == "auto":
        chosen = _choose(panel, stats, h, m, lvl, candidates, n_windows)
        parts = [
            _engine.forecast_panel(panel, panel.data.filter(pl.col(UID).is_in(g.get_column(UID).implode())), meth, h, m, lvl)
            for (meth,), g in chosen.group_by("choice")
        ]  # fmt: skip
        result = pl.concat(parts)
    else:
        result = _engine.forecast_panel(panel, panel.data, method, h, m, lvl)
    return _finish(panel, stats, result, freq)


def backtest(
    series: pl.DataFrame,
    horizon: int,
    *,
    freq: str | None = None,
    methods: Sequence[str] | None = None,
    n_windows: int = DEFAULT_N_WINDOWS,
    level: float = 80,
    season_length: int | None = None,
    fill_gaps: FillGaps = "interpolate",
) -> BacktestReport:
    """Rolling-origin backtest of `methods` (default: the `auto` candidates for one or many
    series) on `n_windows` consecutive windows of `horizon` periods ending at the last
    observation. The horizon is shortened when the history cannot hold `n_windows` of it above
    the minimum training length (10 observations); series too short for any window are left out
    with a warning. Same input rules as `forecast` (freq=None infers the frequency).
    `quality_warnings(report)` turns the result into plain-language caveats."""
    check_freq(freq)
    h = check_horizon(horizon)
    lvl = check_level(level)
    _check_windows(n_windows)
    panel = prepare(series, freq, fill_gaps)
    freq = panel.freq
    m = season_length_for(freq, season_length)
    stats = panel.stats()
    methods = _candidates(methods, stats.height)
    report_warnings: list[str] = []
    h_bt = _engine.backtest_horizon(int(stats.get_column("n").max()), h, n_windows)  # type: ignore[arg-type]
    if h_bt < h:
        report_warnings.append(f"history too short for {n_windows} windows of {h}: backtested {h_bt} periods ahead")
    table = _engine.backtest_panel(panel, methods, h_bt, m, lvl, n_windows)
    left_out = stats.filter(~pl.col(UID).is_in(table.get_column(UID).implode()))
    if left_out.height:
        report_warnings.append(f"{left_out.height} series too short to backtest (fewer than "
                               f"{_engine.MIN_TRAIN + h_bt} observations)")  # fmt: skip
    choice = _per_series_choice(table)
    metrics = _summary(table, methods)
    chosen = None
    finite = metrics.filter(pl.col("mase").is_not_null() & pl.col("mase").is_finite())
    ranked = (finite if finite.height else metrics.filter(pl.col("mae").is_not_null())).sort("mase", "mae")
    if ranked.height:
        chosen = ranked.get_column("method")[0]
    by_series = table
    chosen_by_series: dict[Any, str] = {}
    if panel.has_uid:
        by_series = _restore_uid(panel, table)
        chosen_by_series = dict(_restore_uid(panel, choice).select(UID, "choice").iter_rows())
    else:
        by_series = table.drop(UID)
    return BacktestReport(
        horizon=h_bt, freq=freq, season_length=m,
        n_windows=int(table.get_column("windows").max() or 0) if table.height else 0,  # type: ignore[arg-type]
        methods=methods, metrics=metrics, by_series=by_series, chosen=chosen,
        chosen_by_series=chosen_by_series, warnings=report_warnings, level=float(lvl),
    )  # fmt: skip


def quality_warnings(report: BacktestReport, method: str | None = None) -> list[str]:
    """Plain-language caveats about `method`'s backtest (default: the forecast `auto` makes, i.e.
    the ensemble when it was backtested, else the report's `chosen`), for a forecast's text
    answer and `warnings`: MASE at or above 1 (no better than the in-sample seasonal naive), MAE not
    below the seasonal naive forecast's, interval coverage off nominal (by more than
    COVERAGE_TOLERANCE or two binomial standard errors of the backtest's point count), and the
    report's own warnings (shortened horizon, series left out). Empty when there is nothing to say."""
    if method is None:
        method = AUTO_METHOD if AUTO_METHOD in report.methods else report.chosen
    out = list(report.warnings)
    if method is None or method not in report.methods:
        return out + ["no backtest result: the forecast's accuracy is unmeasured"]
    row = report.metrics.filter(pl.col("method") == method).row(0, named=True)
    if not row["n_series"]:
        return out + [f"{method}: no backtest result (history too short): the forecast's accuracy is unmeasured"]
    where = f"{method} backtest ({report.n_windows} window(s) of {report.horizon} {report.freq} periods)"
    mase, rel, cov = row["mase"], row["relative_mae"], row["coverage"]
    if mase is not None and math.isfinite(mase) and mase >= 1:
        out.append(f"{where}: MASE {mase:.2f} (at or above 1): errors no smaller than the seasonal naive "
                   "forecast's in-sample errors; treat the forecast as a rough guide")  # fmt: skip
    if rel is not None and math.isfinite(rel) and rel >= 1 and method != "seasonal_naive":
        out.append(f"{where}: MAE {rel:.2f} x the seasonal naive forecast's: no better than repeating last season")
    if cov is not None and math.isfinite(cov):
        nominal = report.level / 100.0
        points = max(1, int(row["n_series"]) * max(report.n_windows, 1) * report.horizon)
        tolerance = max(COVERAGE_TOLERANCE, 2 * math.sqrt(nominal * (1 - nominal) / points))
        if abs(cov - nominal) > tolerance:
            side = "too narrow" if cov < nominal else "too wide"
            out.append(f"{where}: the {report.level:g}% interval held the actual value {cov:.0%} of the time "
                       f"(intervals {side})")  # fmt: skip
    return out


def _check_method(method: str, *, allow_auto: bool) -> None:
    valid = (("auto",) if allow_auto else ()) + _engine.METHODS
    if method not in valid:
        raise ForecastError(f"method={method!r} is not one of {list(valid)}")


def _check_windows(n_windows: int) -> None:
    if isinstance(n_windows, bool) or not isinstance(n_windows, int) or n_windows < 1:
        raise ForecastError(f"n_windows must be a positive integer, got {n_windows!r}")


def _candidates(methods: Sequence[str] | None, n_series: int) -> tuple[str, ...]:
    if methods is None:
        return SINGLE_SERIES_CANDIDATES if n_series == 1 else MANY_SERIES_CANDIDATES
    if isinstance(methods, str):
        methods = (methods,)
    for meth in methods:
        _check_method(meth, allow_auto=False)
    if not methods:
        raise ForecastError("methods/candidates is empty: give at least one of " + str(list(_engine.METHODS)))
    return tuple(dict.fromkeys(methods))


def _per_series_choice(table: pl.DataFrame) -> pl.DataFrame:
    return (table.with_columns(pl.col("mase").fill_nan(float("inf")))
            .sort(UID, "mase", "mae", nulls_last=True)
            .group_by(UID, maintain_order=True).agg(pl.col("method").first().alias("choice")))  # fmt: skip


def _summary(table: pl.DataFrame, methods: tuple[str, ...]) -> pl.DataFrame:
    finite_mase = pl.when(pl.col("mase").is_finite()).then(pl.col("mase"))
    summary = table.group_by("method").agg(
        pl.col("mae").mean(), pl.col("smape").mean(),
        pl.when(finite_mase.count() > 0).then(finite_mase.mean()).otherwise(pl.col("mase").mean()).alias("mase"),
        pl.col("coverage").mean(), pl.len().alias("n_series"),
    )  # fmt: skip
    if "seasonal_naive" in methods and table.height:
        base = table.filter(pl.col("method") == "seasonal_naive").select(UID, pl.col("mae").alias("_base"))
        rel = (table.join(base, on=UID)
               .with_columns(pl.when(pl.col("_base") > 0).then(pl.col("mae") / pl.col("_base")).alias("_rel"))
               .group_by("method").agg(pl.col("_rel").mean().alias("relative_mae")))  # fmt: skip
        summary = summary.join(rel, on="method", how="left")
    else:
        summary = summary.with_columns(pl.lit(None, pl.Float64).alias("relative_mae"))
    order = pl.DataFrame({"method": list(methods), "_o": list(range(len(methods)))})
    return (order.join(summary, on="method", how="left").sort("_o")
            .select("method", "mae", "smape", "mase", "coverage", "relative_mae",
                    pl.col("n_series").fill_null(0).cast(pl.Int64)))  # fmt: skip


def _choose(panel: Panel, stats: pl.DataFrame, h: int, m: int, level: float,
            candidates: Sequence[str] | None, n_windows: int) -> pl.DataFrame:  # fmt: skip
    """Per series: the candidate with the lowest backtest MASE; series too short to backtest get
    the first fitted candidate (seasonal naive below the fitted minimum, via the routing)."""
    cands = _candidates(candidates, stats.height)
    h_bt = _engine.backtest_horizon(int(stats.get_column("n").max()), h, n_windows)  # type: ignore[arg-type]
    varying = panel.subset(panel.data.filter(~pl.col(UID).is_in(
        stats.filter(pl.col("is_constant")).get_column(UID).implode())))  # fmt: skip
    table = _engine.backtest_panel(varying, cands, h_bt, m, level, n_windows) if varying.data.height else None
    choice = _per_series_choice(table) if table is not None and table.height else pl.DataFrame(schema={UID: pl.String, "choice": pl.String})
    default = next((c for c in cands if c in _engine.FITTED), cands[0])
    missing = stats.filter(~pl.col(UID).is_in(choice.get_column(UID).implode()))
    for uid, constant in missing.select(UID, "is_constant").iter_rows():
        if not constant:
            panel.note(uid, f"too short to backtest (needs {_engine.MIN_TRAIN + h_bt} observations): used {default}")
    filled = pl.concat([choice, missing.select(UID, pl.lit(default).alias("choice"))])
    if table is not None and table.height:
        best = table.join(filled, left_on=[UID, "method"], right_on=[UID, "choice"])
        for uid, meth, mase in best.select(UID, "method", "mase").iter_rows():
            if mase is not None and math.isfinite(mase) and mase >= 1 and meth != "seasonal_naive":
                panel.note(uid, f"best backtest MASE {mase:.2f} (>= 1): no candidate beat the in-sample seasonal naive")
    return filled


def _restore_uid(panel: Panel, frame: pl.DataFrame) -> pl.DataFrame:
    assert panel.uid_dtype is not None
    return frame.with_columns(pl.col(UID).cast(panel.uid_dtype))


def _finish(panel: Panel, stats: pl.DataFrame, result: pl.DataFrame, freq: str) -> pl.DataFrame:
    notes = pl.DataFrame(
        {UID: list(panel.notes), "warning": ["; ".join(v) for v in panel.notes.values()]},
        schema={UID: pl.String, "warning": pl.String},
    )
    out = (result.join(stats.select(UID, "last_ds"), on=UID)
           .with_columns(step_dates(pl.col("last_ds"), pl.col("step"), freq).alias("ds"))
           .join(notes, on=UID, how="left")
           .sort(UID, "ds"))  # fmt: skip
    ds = pl.col("ds")
    if isinstance(panel.ds_dtype, pl.Datetime):
        ds = ds.cast(pl.Datetime(panel.ds_dtype.time_unit or "us"))
        if panel.ds_dtype.time_zone:
            ds = ds.dt.replace_time_zone(panel.ds_dtype.time_zone)
    cols = [ds.alias("ds"), "yhat", "yhat_lower", "yhat_upper", "method", "warning"]
    if panel.has_uid:
        assert panel.uid_dtype is not None
        cols = [pl.col(UID).cast(panel.uid_dtype), *cols]
    out = out.select(cols)
    if panel.notes:
        n_warn = len(panel.notes)
        first = next(iter(panel.notes.values()))[0]
        warnings.warn(ForecastWarning(f"{n_warn} series with warnings (see the `warning` column), e.g.: {first}"),
                      stacklevel=3)  # fmt: skip
    return out
