"""PNG charts for tool results: pure rendering, no arithmetic on business numbers.

Every function takes values that the analytics layer already computed and returns PNG bytes.
Rendering uses matplotlib's object-oriented API with the Agg canvas (no pyplot global state), so
the functions are safe to call from several threads at once. Missing values (None / NaN) become
gaps; empty inputs render a small "no data" chart rather than failing.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter

__all__ = ["ChartTile", "anomaly_png", "bar_png", "forecast_png", "kpi_grid_png", "line_png"]

DPI = 100
PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c", "#0891b2", "#4b5563", "#ca8a04"]
TONE_COLOURS = {"good": "#16a34a", "bad": "#dc2626", "neutral": "#4b5563"}

XValue = dt.date | dt.datetime | str


@dataclass(frozen=True)
class ChartTile:
    """One KPI tile as drawn: texts are preformatted by the caller."""

    label: str
    value_text: str
    change_text: str = ""
    sparkline: Sequence[float | None] = field(default_factory=list)
    tone: Literal["good", "bad", "neutral"] = "neutral"


# ---- helpers -----------------------------------------------------------------------------------


def _num(v: Any) -> float:
    """A y value as float, NaN for missing (so lines show a gap)."""
    if v is None:
        return math.nan
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f if math.isfinite(f) else math.nan


def _x(v: XValue) -> Any:
    """An x value as something matplotlib can place on a date axis (ISO strings parsed)."""
    if isinstance(v, str):
        try:
            return dt.datetime.fromisoformat(v)
        except ValueError:
            return v
    return v


def _figure(width: float, height: float) -> Figure:
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.1, right=0.97, top=0.9, bottom=0.18)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _no_data(ax: Any, message: str = "no data") -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", color="#6b7280", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])


def _style(ax: Any) -> None:
    ax.grid(True, color="#e5e7eb", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=8)


def _date_axis(fig: Figure, ax: Any) -> None:
    for label in ax.get_xticklabels():
        label.set_rotation(30)
        label.set_horizontalalignment("right")


def _compact(value: float, _pos: object = None) -> str:
    """An axis tick as 21.5M / 500k / 0.05 (no offset text such as "1e7" above the axis)."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def _col(frame: pl.DataFrame, name: str) -> list[Any]:
    return frame.get_column(name).to_list() if name in frame.columns else [None] * frame.height


# ---- public charts -----------------------------------------------------------------------------


def line_png(
    series: dict[str, list[tuple[XValue, float | None]]], title: str, y_label: str = ""
) -> bytes:
    """One line per named series of (x, y) points."""
    fig = _figure(8, 4)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11, loc="left")
    drawn = 0
    for i, (name, points) in enumerate(series.items()):
        if not points:
            continue
        xs = [_x(x) for x, _ in points]
        ys = [_num(y) for _, y in points]
        ax.plot(xs, ys, marker="o" if len(points) <= 24 else None, markersize=3, linewidth=1.6,
                color=PALETTE[i % len(PALETTE)], label=name)  # fmt: skip
        drawn += 1
    if drawn == 0:
        _no_data(ax)
    else:
        _style(ax)
        if y_label:
            ax.set_ylabel(y_label, fontsize=9)
        if len(series) > 1:
            ax.legend(fontsize=8, frameon=False)
        _date_axis(fig, ax)
    return _png(fig)


def forecast_png(history: pl.DataFrame, forecast: pl.DataFrame, title: str) -> bytes:
    """History (`ds`, `y`) as a line, the forecast (`ds`, `yhat`, `yhat_lower`, `yhat_upper`) as a
    dashed line with its interval shaded."""
    fig = _figure(8, 4)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11, loc="left")
    if history.height == 0 and forecast.height == 0:
        _no_data(ax)
        return _png(fig)
    if history.height:
        ax.plot([_x(v) for v in _col(history, "ds")], [_num(v) for v in _col(history, "y")],
                color=PALETTE[0], linewidth=1.6, label="actual")  # fmt: skip
    if forecast.height:
        xs = [_x(v) for v in _col(forecast, "ds")]
        lo = [_num(v) for v in _col(forecast, "yhat_lower")]
        hi = [_num(v) for v in _col(forecast, "yhat_upper")]
        if not all(math.isnan(v) for v in lo + hi):
            ax.fill_between(xs, lo, hi, color=PALETTE[0], alpha=0.15, linewidth=0, label="interval")
        ax.plot(xs, [_num(v) for v in _col(forecast, "yhat")], color=PALETTE[0], linestyle="--",
                linewidth=1.6, label="forecast")  # fmt: skip
    _style(ax)
    ax.legend(fontsize=8, frameon=False)
    _date_axis(fig, ax)
    return _png(fig)


def anomaly_png(frame: pl.DataFrame, title: str) -> bytes:
    """Observed values (`ds`, `y`) over the expected range (`lower` to `upper`, shaded) and the
    expected line (`expected`), anomalies (`is_anomaly`) marked in red, and the periods that are
    not scored (`warmup`, optional) shaded and labelled at the start."""
    fig = _figure(8, 4)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11, loc="left")
    if frame.height == 0:
        _no_data(ax)
        return _png(fig)
    xs = [_x(v) for v in _col(frame, "ds")]
    ys = [_num(v) for v in _col(frame, "y")]
    lo = [_num(v) for v in _col(frame, "lower")]
    hi = [_num(v) for v in _col(frame, "upper")]
    warm = [x for x, w in zip(xs, _col(frame, "warmup"), strict=True) if w]
    if warm:
        ax.axvspan(min(warm), max(warm), color="#fde68a", alpha=0.45, linewidth=0,
                   label=f"warm-up, not scored ({len(warm)})")  # fmt: skip
    if not all(math.isnan(v) for v in lo + hi):
        ax.fill_between(xs, lo, hi, color="#93c5fd", alpha=0.5, linewidth=0, label="expected range")
    ax.plot(xs, [_num(v) for v in _col(frame, "expected")], color="#6b7280", linestyle="--",
            linewidth=1.0, label="expected")  # fmt: skip
    ax.plot(xs, ys, color=PALETTE[0], linewidth=1.3, label="observed")
    flags = _col(frame, "is_anomaly")
    ax_x = [x for x, f in zip(xs, flags, strict=True) if f]
    ax_y = [y for y, f in zip(ys, flags, strict=True) if f]
    if ax_x:
        ax.scatter(ax_x, ax_y, color=PALETTE[2], s=30, zorder=3, label=f"anomaly ({len(ax_x)})")
    _style(ax)
    ax.yaxis.set_major_formatter(FuncFormatter(_compact))
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    _date_axis(fig, ax)
    return _png(fig)


def bar_png(labels: list[str], values: list[float], title: str) -> bytes:
    """Horizontal bars, one per label, in the given order (first on top)."""
    height = min(8.0, max(2.5, 0.35 * len(labels) + 1.2))
    fig = _figure(8, height)
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=11, loc="left")
    if not labels:
        _no_data(ax)
        return _png(fig)
    ys = [_num(v) for v in values]
    positions = list(range(len(labels)))[::-1]
    colours = [PALETTE[2] if v < 0 else PALETTE[0] for v in ys]
    ax.barh(positions, [0.0 if math.isnan(v) else v for v in ys], color=colours)
    ax.set_yticks(positions, labels=labels, fontsize=8)
    _style(ax)
    ax.grid(False, axis="y")
    return _png(fig)


def _tile(t: ChartTile | Sequence[Any] | Any) -> ChartTile:
    if isinstance(t, ChartTile):
        return t
    if isinstance(t, tuple | list):
        return ChartTile(*t)
    # any object with the same attribute names (e.g. a pydantic tile model)
    return ChartTile(
        label=str(getattr(t, "label", "")),
        value_text=str(getattr(t, "value_text", "")),
        change_text=str(getattr(t, "change_text", "") or ""),
        sparkline=list(getattr(t, "sparkline", None) or []),
        tone=getattr(t, "tone", "neutral") or "neutral",
    )


def kpi_grid_png(tiles: Sequence[ChartTile | Sequence[Any] | Any], title: str) -> bytes:
    """A grid of KPI tiles: label, big value, change line (coloured good/bad) and a sparkline.

    A tile is a `ChartTile`, a tuple `(label, value_text, change_text, sparkline[, tone])`, or any
    object with those attribute names. Drawn on one axes (one unit per tile) for speed."""
    items = [_tile(t) for t in tiles]
    cols = 3 if len(items) > 4 or len(items) == 3 else max(1, min(2, len(items)))
    rows = max(1, math.ceil(len(items) / cols))
    fig = Figure(figsize=(3.0 * cols, 1.8 * rows + 0.45), dpi=DPI)
    FigureCanvasAgg(fig)
    top = 1 - 0.45 / (1.8 * rows + 0.45)
    fig.text(0.02, 1 - 0.08 / (1.8 * rows + 0.45), title, fontsize=12, va="top")
    ax = fig.add_axes((0.0, 0.0, 1.0, top))
    ax.set_axis_off()
    ax.set_xlim(0, cols)
    ax.set_ylim(rows, 0)  # row 0 at the top
    if not items:
        ax.text(cols / 2, rows / 2, "no data", ha="center", va="center", color="#6b7280")
        return _png(fig)
    for i, tile in enumerate(items):
        x0, y0 = i % cols, i // cols
        ax.add_patch(
            Rectangle((x0 + 0.03, y0 + 0.04), 0.94, 0.92, facecolor="#f9fafb", edgecolor="#e5e7eb")
        )
        ax.text(x0 + 0.07, y0 + 0.1, tile.label, fontsize=9, color="#4b5563", va="top")
        ax.text(x0 + 0.07, y0 + 0.33, tile.value_text, fontsize=16, fontweight="bold", color="#111827",
                va="center")  # fmt: skip
        ax.text(x0 + 0.07, y0 + 0.5, tile.change_text, fontsize=8, color=TONE_COLOURS.get(tile.tone, "#4b5563"),
                va="center")  # fmt: skip
        ys = [_num(v) for v in tile.sparkline]
        finite = [v for v in ys if not math.isnan(v)]
        if not finite:
            ax.text(x0 + 0.07, y0 + 0.75, "no trend data", fontsize=7, color="#9ca3af", va="center")
            continue
        # place the sparkline in the tile's lower box (drawing coordinates only)
        lo, hi = min(finite), max(finite)
        span = hi - lo or 1.0
        n = max(1, len(ys) - 1)
        xs = [x0 + 0.07 + 0.86 * k / n for k in range(len(ys))]
        py = [y0 + 0.9 - 0.3 * ((v - lo) / span if hi > lo else 0.5) for v in ys]
        colour = PALETTE[0] if tile.tone == "neutral" else TONE_COLOURS[tile.tone]
        # sparse series (e.g. survey months) are joined across their gaps
        pts = [(x, y) for x, y in zip(xs, py, strict=True) if not math.isnan(y)]
        ax.plot([x for x, _ in pts], [y for _, y in pts], color=colour, linewidth=1.4,
                marker="o" if len(pts) < len(py) else None, markersize=2)  # fmt: skip
        ax.plot([pts[-1][0]], [pts[-1][1]], marker="o", markersize=3, color="#111827")
    return _png(fig)
