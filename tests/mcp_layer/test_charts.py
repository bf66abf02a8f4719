"""The chart helpers return valid PNGs for ordinary, empty and gappy inputs, from any thread."""

from __future__ import annotations

import datetime as dt
import struct
from concurrent.futures import ThreadPoolExecutor

import polars as pl

from mcp_layer import charts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
DAYS = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(30)]


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_line_chart_with_gaps_strings_and_empty_series() -> None:
    png = charts.line_png(
        {
            "mrr": [(d, float(i)) for i, d in enumerate(DAYS)],
            "arr": [(d.isoformat(), None if i % 4 == 0 else i * 2.0) for i, d in enumerate(DAYS)],
            "nothing": [],
        },
        "MRR",
        "USD",
    )
    width, height = png_size(png)
    assert width >= 400 and height >= 200
    assert png_size(charts.line_png({}, "empty"))[0] > 0
    assert png_size(charts.line_png({"x": [(DAYS[0], None)]}, "all missing"))[0] > 0


def test_forecast_and_anomaly_charts() -> None:
    history = pl.DataFrame({"ds": DAYS, "y": [float(i) for i in range(30)]})
    future = [DAYS[-1] + dt.timedelta(days=i + 1) for i in range(7)]
    forecast = pl.DataFrame({"ds": future, "yhat": [30.0] * 7, "yhat_lower": [25.0] * 7,
                             "yhat_upper": [None] * 6 + [35.0]})  # fmt: skip
    png_size(charts.forecast_png(history, forecast, "forecast"))
    png_size(charts.forecast_png(history.clear(), forecast.clear(), "nothing"))
    frame = history.with_columns(
        expected=pl.col("y"),
        lower=pl.col("y") - 1,
        upper=pl.col("y") + 1,
        is_anomaly=pl.col("y") == 5,
    )
    png_size(charts.anomaly_png(frame, "anomalies"))
    png_size(charts.anomaly_png(frame.clear(), "no anomalies"))
    # the warm-up (not scored: no range, no expected value) is shaded, the band drawn after it
    warm = frame.with_columns(warmup=pl.int_range(pl.len()) < 14).with_columns(
        [pl.when(pl.col("warmup")).then(None).otherwise(pl.col(c)).alias(c) for c in ("expected", "lower", "upper")]
    )
    plain, shaded = charts.anomaly_png(frame, "a"), charts.anomaly_png(warm, "a")
    assert png_size(shaded) == png_size(plain) and shaded != plain


def test_bar_and_kpi_grid_charts() -> None:
    png_size(charts.bar_png(["a", "b", "c"], [3.0, -1.0, float("nan")], "bars"))
    png_size(charts.bar_png([], [], "no bars"))
    tiles = [
        charts.ChartTile("MRR", "$1.2M", "+3.4% vs previous", [1.0, None, 3.0], "good"),
        ("Churn", "2.1%", "+0.3 pp", [], "bad"),
        ("Flat", "7", "", [5.0, 5.0, 5.0]),
    ]
    width, _ = png_size(charts.kpi_grid_png(tiles, "Executive"))
    assert width >= 600
    png_size(charts.kpi_grid_png([], "no tiles"))


def test_rendering_is_thread_safe() -> None:
    def render(i: int) -> bytes:
        return charts.line_png(
            {f"s{i}": [(d, float(i * k)) for k, d in enumerate(DAYS)]}, f"chart {i}"
        )

    with ThreadPoolExecutor(4) as pool:
        pngs = list(pool.map(render, range(8)))
    assert all(p[:8] == PNG_MAGIC for p in pngs)
    assert len(set(pngs)) == 8  # each thread drew its own figure
