"""`forecast` and `backtest`: the public face of the forecasting library.

Models (the `method` argument and the result's `method` column):

- `prophet`: Prophet, one fit per series; for the headline business series (MRR, revenue,
  active customers, API volume). Weekly seasonality for daily data, yearly once two years of
  history exist (order 5 for monthly data), multiplicative when the series is strictly positive.
- `ets`: statsforecast AutoETS (automatic ETS model selection by AICc), `n_jobs=1`.
- `arima`: statsforecast AutoARIMA, `n_jobs=1`. Slow on long daily series (~3.5 s per fit on
  730 days here), so not an `auto` candidate unless asked for.
- `fast_ets`: the vectorised many-series fast path (`_fast_ets.py`): seasonal indices plus
  damped-trend exponential smoothing, thousands of series per second.
- `seasonal_naive`: the baseline, the value one season back (`naive`, the last value, when there
  is no season); statsforecast's SeasonalNaive/Naive formulas, vectorised over series.
- `auto`: a rolling-origin backtest of the candidates, then per series the one with the lowest
  MASE (ties: lowest MAE). Candidates: prophet, ets, fast_ets, seasonal_naive for one series;
  fast_ets, seasonal_naive for many (pass `candidates=` to change).

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

Method = Literal["auto", "prophet", "ets", "arima", "fast_ets", "seasonal_naive"]
SINGLE_SERIES_CANDIDATES = ("prophet", "ets", "fast_ets", "seasonal_naive")
MANY_SERIES_CANDIDATES = ("fast_ets", "seasonal_naive")
DEFAULT_N_WINDOWS = 3


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
            "n_windows": self.n_windows, "chosen": self.chosen,
            "metrics": [{k: clean(v) for k, v in row.items()} for row in self.metrics.to_dicts()],
            "warnings": list(self.warnings),
        }  # fmt: skip


def forecast(
    series: pl.DataFrame,
    horizon: int,
    *,
    freq: str = "D",
    method: Method = "auto",
    level: float = 80,
    season_length: int | None = None,
    candidates: Sequence[str] | None = None,
    n_windows: int = DEFAULT_N_WINDOWS,
    fill_gaps: FillGaps = "interpolate",
) -> pl.DataFrame:
    """Forecast one or many series `horizon` periods ahead, with prediction intervals.

    `series`: polars frame with `ds` (date, or datetime at midnight), `y` (number) and optionally
    `unique_id` (many series at once). `freq`: "D", "W" or "MS" (month start). `level`: interval
    coverage in percent. `season_length`: defaults 7 (D), 52 (W), 12 (MS); 1 = no seasonality.
    `method="auto"` backtests `candidates` (`n_windows` rolling origins) and uses, per series, the
    one with the lowest MASE.

    Returns `ds` (the input's dtype), `yhat`, `yhat_lower`, `yhat_upper`, `method` (the model that
    produced the row) and `warning` (null, or why the result needs care), plus `unique_id` first
    when the input had it. See the module docstring for the edge-case rules.
    """
    check_freq(freq)
    h = check_horizon(horizon)
    lvl = check_level(level)
    m = season_length_for(freq, season_length)
    _check_method(method, allow_auto=True)
    _check_windows(n_windows)
    panel = prepare(series, freq, fill_gaps)
    stats = panel.stats()
    for uid, n in stats.select(UID, "n").iter_rows():
        if h > n:
            panel.note(uid, f"horizon ({h}) is longer than the history ({n} points): the forecast extrapolates "
                            "beyond anything observed; its intervals are wide")  # fmt: skip

    if method == "auto":
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
    freq: str = "D",
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
    with a warning. Same input rules as `forecast`."""
    check_freq(freq)
    h = check_horizon(horizon)
    lvl = check_level(level)
    m = season_length_for(freq, season_length)
    _check_windows(n_windows)
    panel = prepare(series, freq, fill_gaps)
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
        chosen_by_series=chosen_by_series, warnings=report_warnings,
    )  # fmt: skip


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
