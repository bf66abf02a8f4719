"""Routing (which model a series really gets) and the rolling-origin backtest, on panels."""

from __future__ import annotations

import polars as pl

from . import _models
from ._panel import MIN_FIT_POINTS, UID, Panel

FITTED = ("ensemble", "theta", "fast_ets", "ets", "arima", "prophet")
METHODS = (*FITTED, "seasonal_naive")
# Minimum training length of a backtest window (the fitted-model minimum).
MIN_TRAIN = MIN_FIT_POINTS


def forecast_panel(panel: Panel, data: pl.DataFrame, method: str, h: int, m: int, level: float,
                   *, notes: bool = True) -> pl.DataFrame:  # fmt: skip
    """Forecast every series of `data` with `method`, applying the edge-case routing:

    - constant history -> its value with zero-width intervals (method `naive`);
    - fewer than MIN_FIT_POINTS observations -> seasonal naive (naive without two seasons);
    - fewer than two seasons -> the model is fitted without seasonality (season length 1);
    - history without negative values -> forecasts and bounds clipped at zero;
    - bounds ordered so that yhat_lower <= yhat <= yhat_upper.

    Returns `unique_id`, `step`, `yhat`, `yhat_lower`, `yhat_upper`, `method`.
    """
    stats = data.group_by(UID).agg(
        pl.len().cast(pl.Int64).alias("n"),
        (pl.col("y").max() == pl.col("y").min()).alias("is_constant"),
        (pl.col("y").min() >= 0).alias("nonnegative"),
    )
    route = stats.with_columns(
        pl.when(pl.col("is_constant")).then(pl.lit("constant"))
        .when((pl.col("n") < MIN_FIT_POINTS) & pl.lit(method in FITTED)).then(pl.lit("seasonal_naive"))
        .otherwise(pl.lit(method)).alias("route")
    )  # fmt: skip
    if notes:
        for uid, n, r in route.select(UID, "n", "route").iter_rows():
            if r == "constant":
                panel.note(uid, "constant series: forecast is its value with zero-width intervals")
            elif r != method:
                panel.note(uid, f"only {n} observations (< {MIN_FIT_POINTS} needed to fit {method}): used the "
                                f"{'seasonal ' if n >= 2 * m > 2 else ''}naive forecast")  # fmt: skip
            elif m > 1 and n < 2 * m and method != "prophet":
                panel.note(uid, f"history ({n}) shorter than two seasons (2 x {m}): {method} fitted without seasonality")
    parts = []
    for (r,), ids in route.group_by("route"):
        sub = data.filter(pl.col(UID).is_in(ids.get_column(UID).implode()))
        if r == "constant":
            res = _models.constant(sub, h).with_columns(pl.lit("naive").alias("method"))
        else:
            res = _models.run(r, sub, h, m, level, panel.freq)
            label = pl.lit(r)
            if r == "seasonal_naive":  # without two seasons of history it is the naive forecast
                short = ids.filter(pl.col("n") < 2 * m).get_column(UID) if m > 1 else ids.get_column(UID)
                label = pl.when(pl.col(UID).is_in(short.implode())).then(pl.lit("naive")).otherwise(label)
            res = res.with_columns(label.alias("method"))
        parts.append(res)
    out = pl.concat(parts).join(stats.select(UID, "nonnegative"), on=UID)
    floor = pl.when(pl.col("nonnegative")).then(pl.lit(0.0)).otherwise(pl.lit(None))
    out = out.with_columns(pl.col("yhat").clip(lower_bound=floor)).with_columns(
        pl.min_horizontal("yhat_lower", "yhat").clip(lower_bound=floor).alias("yhat_lower"),
        pl.max_horizontal("yhat_upper", "yhat").alias("yhat_upper"),
    )
    return out.drop("nonnegative").sort(UID, "step")


def backtest_horizon(n_max: int, horizon: int, n_windows: int) -> int:
    """The forecast horizon, shortened when the longest history cannot hold `n_windows` of it
    above the minimum training length."""
    return max(1, min(horizon, (n_max - MIN_TRAIN) // max(n_windows, 1)))


def backtest_panel(panel: Panel, methods: tuple[str, ...], h: int, m: int, level: float, n_windows: int
                   ) -> pl.DataFrame:  # fmt: skip
    """Rolling origin: window k (1..n_windows) trains on all but the last (n_windows - k + 1) * h
    observations and tests on the next h; a series joins only the windows whose training part has
    at least MIN_TRAIN observations. Returns per (`unique_id`, `method`): `mae`, `smape`, `mase`,
    `coverage`, `windows`."""
    data = panel.data
    rows = []
    for k in range(1, n_windows + 1):
        drop = (n_windows - k + 1) * h
        cut = pl.col("n") - drop
        eligible = data.filter(cut >= MIN_TRAIN)
        if eligible.height == 0:
            continue
        train = eligible.filter(pl.col("idx") < cut).with_columns(cut.alias("n"))
        test = eligible.filter((pl.col("idx") >= cut) & (pl.col("idx") < cut + h)).select(
            UID, (pl.col("idx") - cut + 1).cast(pl.Int64).alias("step"), "y"
        )
        scale = _naive_scale(train, m)
        for method in methods:
            fc = forecast_panel(panel, train, method, h, m, level, notes=False)
            rows.append(fc.join(test, on=[UID, "step"]).join(scale, on=UID).with_columns(
                pl.lit(method).alias("candidate"), pl.lit(k).alias("window")))  # fmt: skip
    if not rows:
        return pl.DataFrame(schema={UID: pl.String, "method": pl.String, "mae": pl.Float64, "smape": pl.Float64,
                                    "mase": pl.Float64, "coverage": pl.Float64, "windows": pl.UInt32})  # fmt: skip
    errors = pl.concat(rows).with_columns(
        (pl.col("y") - pl.col("yhat")).abs().alias("ae"),
        ((pl.col("y") >= pl.col("yhat_lower")) & (pl.col("y") <= pl.col("yhat_upper"))).alias("covered"),
        (pl.col("y").abs() + pl.col("yhat").abs()).alias("_den"),
    ).with_columns(
        pl.when(pl.col("_den") > 0).then(200 * pl.col("ae") / pl.col("_den")).otherwise(0.0).alias("sape")
    )  # fmt: skip
    per_window = errors.group_by(UID, "candidate", "window").agg(
        pl.col("ae").mean().alias("mae_w"), pl.col("scale").first()
    ).with_columns(
        pl.when(pl.col("scale") > 0).then(pl.col("mae_w") / pl.col("scale"))
        .when(pl.col("mae_w") == 0).then(0.0).otherwise(float("inf")).alias("mase_w")
    )  # fmt: skip
    per_series = errors.group_by(UID, "candidate").agg(
        pl.col("ae").mean().alias("mae"), pl.col("sape").mean().alias("smape"),
        pl.col("covered").mean().alias("coverage"),
    ).join(per_window.group_by(UID, "candidate").agg(pl.col("mase_w").mean().alias("mase"), pl.len().alias("windows")),
           on=[UID, "candidate"])  # fmt: skip
    return per_series.select(UID, pl.col("candidate").alias("method"), "mae", "smape", "mase", "coverage", "windows").sort(UID, "method")


def _naive_scale(train: pl.DataFrame, m: int) -> pl.DataFrame:
    """MASE denominator per series: in-sample MAE of the seasonal naive forecast (lag m; lag 1
    when the training part holds fewer than two seasons)."""
    ordered = train.sort(UID, "idx")
    lagged = ordered.with_columns(
        (pl.col("y") - pl.col("y").shift(m).over(UID)).abs().alias("_dm"),
        (pl.col("y") - pl.col("y").shift(1).over(UID)).abs().alias("_d1"),
    )
    return lagged.group_by(UID).agg(
        pl.when(pl.col("n").first() >= 2 * m).then(pl.col("_dm").mean()).otherwise(pl.col("_d1").mean()).alias("scale")
    )
