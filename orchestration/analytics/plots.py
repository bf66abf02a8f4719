"""Pictures for asset metadata: a PNG (matplotlib, headless) inlined as base64 Markdown, and also
saved under DATA_DIR/analytics/plots so it can be opened outside the UI."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import polars as pl


def forecast_png(history: pl.DataFrame, fc: pl.DataFrame, title: str, path: Path) -> str:
    """History (`ds`, `y`) and forecast (`ds`, `yhat`, `yhat_lower`, `yhat_upper`) as a PNG at
    `path`; returns Markdown showing it inline."""
    fig, ax = plt.subplots(figsize=(8, 3.5), dpi=90)
    ax.plot(history["ds"].to_list(), history["y"].to_list(), color="#1f77b4", label="actual")
    ax.plot(fc["ds"].to_list(), fc["yhat"].to_list(), color="#ff7f0e", label="forecast")
    ax.fill_between(fc["ds"].to_list(), fc["yhat_lower"].to_list(), fc["yhat_upper"].to_list(),
                    color="#ff7f0e", alpha=0.25, label="80% interval")  # fmt: skip
    ax.set_title(title)
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    png = buf.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)
    return (
        f"![{title}](data:image/png;base64,{base64.b64encode(png).decode()})\n\nSaved to `{path}`."
    )
