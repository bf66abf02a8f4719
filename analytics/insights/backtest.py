"""Backtests of the insight rules: each rule replayed as of past month-ends, on data up to that
day only, and scored on what happened next. `backtest_rules(settings, as_of)` reads nothing after
`as_of` either: a month-end is evaluated only when its whole horizon ends by `as_of`, and the
last `PERIODS` such month-ends are used.

| rule | replay | came true when | base rate | coverage |
|---|---|---|---|---|
| customers_at_risk (churn model) | walk-forward: the production churn model's logistic regression, fitted only on snapshots whose 90-day labels ended before the month-end (refitted every 3 months), scores the customers paying that day | a customer at p >= 0.5 churned within 90 days (`analytics.churn.label`); extra: realised churned MRR / the expected loss (sum p x MRR) | every paying customer | churners and churned MRR that had p >= 0.5 |
| customers_at_risk (health fallback) | `fct_customer_health_daily` risk level on the day | a high/critical customer churned within 90 days | every scored customer | churners and churned MRR that were high/critical |
| upsell_opportunities | `fct_upsell_signals`' flags re-applied to inputs as of the day (`history.upsell_signals`) | a high-priority account had expansion MRR in the 3 months after | every paying customer | expansions and expansion MRR flagged |
| mrr_churn_spike | the rule as of the month-end | next month's churned MRR is also above the trailing mean | that, over every month | - |
| mrr_expansion_strong | same | next month's expansion MRR is also above the trailing mean | same | - |
| mrr_net_new_negative | same | next month's net new MRR is also negative | same | - |
| mrr_forecast_trend | same (fires every month) | ending MRR 3 months later lies in the forecast's 80% interval; extra: the change had the forecast's sign | - | - |
| anomaly_* | the detector on the 365 days up to the month-end | the window is still flagged when the detector reruns a month later, with that month's data (not an artefact of the series' edge) | - | - |
| incident_mrr | the rule as of the month-end | fire rate only: no observable truth for a candidate incident | - | - |
| capacity_near_threshold | the rule as of the month-end | the service's peak utilisation reaches the threshold (80%) within 30 days | that, over every service-month | breaches that were flagged |

Honest limits: inputs that are themselves fitted on all history (the health score's calibrated
weights, the anomaly detector's defaults) are taken as they are today.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import polars as pl

from analytics.churn.features import data_start, snapshot_labels
from analytics.churn.model import _fit, _model_inputs, labelled_snapshots
from analytics.metrics import add_months
from analytics.settings import Settings

from . import history
from . import rules as R
from .model import Backtest

log = logging.getLogger(__name__)

PERIODS = 16  # month-ends replayed (the most recent whose horizon is observed)
CUSTOMER_HORIZON_DAYS = 90
MIN_TRAIN_DATES = 2  # walk-forward churn model: snapshots needed before a month-end is scored
MIN_TRAIN_CHURNERS = 5
# refit the walk-forward churn model once 3 more labelled snapshots exist (each fit ~0.5 s at
# scale 1 on this machine; monthly refits made the backtest the slowest part of the asset)
REFIT_EVERY = 3


Memo = dict[str, Any]


def _ctx(settings: Settings, as_of: dt.date, memo: Memo) -> R._Ctx:
    return R._Ctx(settings, as_of, R.LOOKBACK_DAYS, memo)


def months_until(settings: Settings, as_of: dt.date, memo: Memo) -> list[dt.date]:
    """Month-ends of the closed months up to as_of (from the MRR summary)."""
    ctx = _ctx(settings, as_of, memo)
    return [R._month_end(m) for m in ctx.closed_months()["month_start"]]


def _ends(months: list[dt.date], as_of: dt.date, horizon: Callable[[dt.date], dt.date],
          skip: int = 0) -> list[dt.date]:  # fmt: skip
    """The last PERIODS month-ends (after the first `skip`) whose horizon ends by as_of."""
    return [e for e in months[skip:] if horizon(e) <= as_of][-PERIODS:]


def _after_months(n: int) -> Callable[[dt.date], dt.date]:
    return lambda e: R._month_end(add_months(e, n))


def _after_days(n: int) -> Callable[[dt.date], dt.date]:
    return lambda e: e + dt.timedelta(days=n)


def _share(num: float, den: float) -> float | None:
    return round(num / den, 4) if den > 0 else None


def _customer_backtest(rule: str, came_true: str, frame: pl.DataFrame, horizon_days: int,
                       **extra: float | str | None) -> Backtest:  # fmt: skip
    """frame: as_of, customer_id, flagged, outcome (bool), outcome_mrr (0 when no outcome)."""
    ends = sorted(set(frame["as_of"].to_list()))
    flagged = frame.filter(pl.col("flagged"))
    hits = flagged.filter(pl.col("outcome"))
    outcomes = frame.filter(pl.col("outcome"))
    return Backtest(
        rule=rule, came_true=came_true, evaluated_periods=len(ends),
        first_period=str(ends[0]) if ends else None, last_period=str(ends[-1]) if ends else None,
        fires=flagged["as_of"].n_unique(), flagged=flagged.height,
        precision=_share(hits.height, flagged.height), base_rate=_share(outcomes.height, frame.height),
        coverage=_share(hits.height, outcomes.height),
        coverage_mrr=_share(float(hits["outcome_mrr"].sum()), float(outcomes["outcome_mrr"].sum())),
        horizon_days=horizon_days, extra=dict(extra),
    )  # fmt: skip


def _period_backtest(rule: str, came_true: str, rows: list[tuple[dt.date, bool, bool | None]],
                     horizon_days: int, base: bool = True, **extra: float | str | None) -> Backtest:  # fmt: skip
    """rows: (month-end, fired, came true); came true None when it cannot be judged."""
    fired = [t for _, f, t in rows if f and t is not None]
    judged = [t for _, _, t in rows if t is not None]
    return Backtest(
        rule=rule, came_true=came_true, evaluated_periods=len(rows),
        first_period=str(rows[0][0]) if rows else None, last_period=str(rows[-1][0]) if rows else None,
        fires=sum(1 for _, f, _ in rows if f),
        precision=_share(sum(fired), len(fired)),
        base_rate=_share(sum(judged), len(judged)) if base else None,
        horizon_days=horizon_days, extra=dict(extra),
    )  # fmt: skip


# --- customer rules --------------------------------------------------------------------------------


def _labels(settings: Settings, ends: list[dt.date]) -> pl.DataFrame:
    """as_of (month-end), customer_id, churned within 90 days of it (paying on the month-end)."""
    cutoffs = [e + dt.timedelta(days=1) for e in ends]
    lab = snapshot_labels(settings, cutoffs, CUSTOMER_HORIZON_DAYS)
    return lab.with_columns((pl.col("as_of").cast(pl.Date) - pl.duration(days=1)).alias("as_of"))


def churn_model_backtest(
    settings: Settings, as_of: dt.date, months: list[dt.date], memo: Memo
) -> Backtest | None:
    """Walk-forward replay of the churn-model at-risk rule (see the module table)."""
    ends = _ends(months, as_of, _after_days(CUSTOMER_HORIZON_DAYS))
    if not ends:
        return None
    start = (data_start(settings) + dt.timedelta(days=120)).replace(day=1)
    dates, d = [], start
    last_cutoff = ends[-1] + dt.timedelta(days=1)
    while d <= last_cutoff:
        dates.append(d)
        d = add_months(d, 1)
    cutoffs = {e + dt.timedelta(days=1): e for e in ends}
    data = labelled_snapshots(settings, sorted(set(dates) | set(cutoffs)), CUSTOMER_HORIZON_DAYS)
    data = data.with_columns(pl.col("as_of").cast(pl.Date))
    parts, expected, realised, fits = [], 0.0, 0.0, 0
    model, fitted_on = None, 0
    for cutoff, end in sorted(cutoffs.items()):
        limit = cutoff - dt.timedelta(days=CUSTOMER_HORIZON_DAYS)
        train = data.filter(pl.col("as_of") <= limit)
        test = data.filter(pl.col("as_of") == cutoff)
        n_dates = train["as_of"].n_unique()
        if (
            n_dates < MIN_TRAIN_DATES
            or train["churned"].sum() < MIN_TRAIN_CHURNERS
            or test.is_empty()
        ):
            continue
        if model is None or n_dates >= fitted_on + REFIT_EVERY:
            numeric, categorical = _model_inputs(train)
            model = _fit("logistic_regression", train, numeric, categorical, CUSTOMER_HORIZON_DAYS,
                         sorted(set(train["as_of"].to_list())))  # fmt: skip
            fitted_on, fits = n_dates, fits + 1
        p = np.clip(model.predict_proba(test), 0.0, 1.0)
        mrr = test["mrr"].cast(pl.Float64).fill_null(0.0).to_numpy()
        churned = test["churned"].to_numpy().astype(bool)
        expected += float((p * mrr).sum())
        realised += float(mrr[churned].sum())
        parts.append(pl.DataFrame({
            "as_of": [end] * test.height, "customer_id": test["customer_id"], "flagged": p >= R.LIKELY_CHURN,
            "outcome": churned, "outcome_mrr": np.where(churned, mrr, 0.0),
        }))  # fmt: skip
    if not parts:
        return None
    return _customer_backtest(
        "customers_at_risk", f"a customer at p >= {R.LIKELY_CHURN:.1f} churned within 90 days",
        pl.concat(parts), CUSTOMER_HORIZON_DAYS, source="churn_model (walk-forward logistic regression)", fits=fits,
        expected_mrr_loss=round(expected, 2), realised_churned_mrr=round(realised, 2),
        realised_over_expected=_share(realised, expected),
    )  # fmt: skip


def health_backtest(
    settings: Settings, as_of: dt.date, months: list[dt.date], memo: Memo
) -> Backtest | None:
    ends = _ends(months, as_of, _after_days(CUSTOMER_HORIZON_DAYS))
    if not ends or not R._exists(settings, "marts.fct_customer_health_daily"):
        return None
    risk = history.health_risk(settings, ends, R.AT_RISK_LEVELS)
    mrr = _mrr_on(settings, ends)
    frame = (
        _labels(settings, ends)
        .join(mrr, on=["as_of", "customer_id"], how="left")
        .join(risk, on=["as_of", "customer_id"], how="left")
        .select("as_of", "customer_id", pl.col("at_risk").fill_null(False).alias("flagged"),
                pl.col("churned").alias("outcome"),
                pl.when(pl.col("churned")).then(pl.col("mrr").fill_null(0.0)).otherwise(0.0).alias("outcome_mrr"))
    )  # fmt: skip
    return _customer_backtest(
        "customers_at_risk", "a high/critical customer churned within 90 days", frame,
        CUSTOMER_HORIZON_DAYS, source="health_score",
    )  # fmt: skip


def _mrr_on(settings: Settings, ends: list[dt.date]) -> pl.DataFrame:
    days = ", ".join(f"date '{e.isoformat()}'" for e in ends)
    return R.run_query(settings, f"""
        select date_day as as_of, customer_id, mrr from marts.fct_mrr_daily
        where date_day in ({days}) and mrr > 0
    """).with_columns(pl.col("as_of").cast(pl.Date), pl.col("mrr").cast(pl.Float64))  # fmt: skip


def upsell_backtest(settings: Settings, as_of: dt.date, months: list[dt.date], memo: Memo,
                    seat_signal: str = "seat_pressure") -> Backtest | None:  # fmt: skip
    ends = _ends(months, as_of, _after_months(3))
    if not ends:
        return None
    signals = history.upsell_signals(settings, ends, seat_signal)
    grown = history.expansions(settings, ends, 3)
    frame = signals.join(grown, on=["as_of", "customer_id"], how="left").select(
        "as_of",
        "customer_id",
        "mrr",
        pl.col("high").alias("flagged"),
        (pl.col("expansion_mrr").fill_null(0.0) > 0).alias("outcome"),
        pl.col("expansion_mrr").fill_null(0.0).alias("outcome_mrr"),
    )
    flagged = frame.filter(pl.col("flagged"))
    uplift = _share(float(flagged["outcome_mrr"].sum()), float(flagged["mrr"].sum()))
    seat = signals.join(grown, on=["as_of", "customer_id"], how="left").filter(
        pl.col("seat_pressure")
    )
    return _customer_backtest(
        "upsell_opportunities", "a high-priority account expanded its MRR within 3 months", frame,
        92, realised_uplift=uplift, assumed_uplift=R.UPSELL_UPLIFT,
        seat_pressure_flagged=seat.height,
        seat_pressure_precision=_share(float((seat["expansion_mrr"].fill_null(0.0) > 0).sum()), seat.height),
    )  # fmt: skip


# --- aggregate rules -------------------------------------------------------------------------------


def _movement_backtest(settings: Settings, as_of: dt.date, memo: Memo, rule: str, column: str,
                       came: Callable[[float, float], bool], text: str) -> Backtest:  # fmt: skip
    ctx_all = _ctx(settings, as_of, memo)
    m = ctx_all.closed_months()
    values = dict(
        zip([R._month_end(x) for x in m["month_start"]], m[column].cast(pl.Float64), strict=True)
    )
    months = sorted(values)
    rows: list[tuple[dt.date, bool, bool | None]] = []
    fn = R.RULES[rule]
    for i, e in enumerate(months[:-1]):
        ctx = _ctx(settings, e, memo)
        got = R._movement_context(ctx, column) if column != "net_new_mrr" else (None, 0.0, 0.0, "")
        if got is None:
            continue
        _, _, mean, _ = got
        rows.append((e, bool(fn(ctx)), came(values[months[i + 1]], mean)))
    return _period_backtest(rule, text, rows[-PERIODS:], 31)


def forecast_backtest(
    settings: Settings, as_of: dt.date, months: list[dt.date], memo: Memo
) -> Backtest:
    ctx_all = _ctx(settings, as_of, memo)
    m = ctx_all.closed_months()
    ending = dict(
        zip(
            [R._month_end(x) for x in m["month_start"]],
            m["ending_mrr"].cast(pl.Float64),
            strict=True,
        )
    )
    rows: list[tuple[dt.date, bool, bool | None]] = []
    direction = []
    for e in _ends(months, as_of, _after_months(R.FORECAST_MONTHS)):
        got = R.rule_mrr_forecast_trend(_ctx(settings, e, memo))
        if not got:
            continue
        ev = got[0].evidence
        actual = ending.get(R._month_end(add_months(e, R.FORECAST_MONTHS)))
        if actual is None:
            continue
        lo, hi, last, change = (
            float(ev[k]) for k in ("forecast_lower", "forecast_upper", "last_mrr", "change")
        )  # type: ignore[arg-type]
        rows.append((e, True, lo <= actual <= hi))
        direction.append(np.sign(actual - last) == np.sign(change))
    return _period_backtest(
        "mrr_forecast_trend", "ending MRR 3 months later fell inside the forecast's 80% interval", rows,
        92, base=False, direction_hit_rate=_share(float(sum(direction)), len(direction)),
    )  # fmt: skip


def anomaly_backtests(
    settings: Settings, as_of: dt.date, months: list[dt.date], memo: Memo
) -> dict[str, Backtest]:
    ends = _ends(months, as_of, _after_months(1))
    runs = {e: R.anomaly_windows_as_of(_ctx(settings, e, memo)) for e in ends}
    nxt = {(n := R._month_end(add_months(e, 1))): R.anomaly_windows_as_of(_ctx(settings, n, memo))
           for e in ends[-1:]}  # fmt: skip
    later = {**runs, **nxt}
    out = {}
    for name in R._SERIES:
        rows: list[tuple[dt.date, bool, bool | None]] = []
        for e in ends:
            since = e - dt.timedelta(days=R.LOOKBACK_DAYS - 1)
            fired = [w for w in runs[e] if w.series_id == name and w.end >= since]
            again = later[R._month_end(add_months(e, 1))]
            kept = [any(v.series_id == name and v.direction == w.direction and v.start <= w.end and v.end >= w.start
                        for v in again) for w in fired]  # fmt: skip
            rows.append((e, bool(fired), all(kept) if fired else None))
        out[f"anomaly_{name}"] = _period_backtest(
            f"anomaly_{name}", "the window was still flagged when the detector reran a month later",
            rows, 31, base=False,
        )  # fmt: skip
    return out


def incident_backtest(
    settings: Settings, as_of: dt.date, months: list[dt.date], memo: Memo
) -> Backtest:
    rows = [(e, bool(R.rule_incident_mrr(_ctx(settings, e, memo))), None)
            for e in months[-PERIODS:]]  # fmt: skip
    return _period_backtest(
        "incident_mrr", "fire rate only (no observable truth)", rows, 0, base=False
    )  # type: ignore[arg-type]


def capacity_backtest(
    settings: Settings, as_of: dt.date, months: list[dt.date], memo: Memo
) -> Backtest | None:
    table = "marts.fct_service_capacity_daily"
    if not R._exists(settings, table):
        return None
    ends = _ends(months, as_of, _after_days(R.CAPACITY_HORIZON_DAYS))
    cap = R.run_query(settings, f"""
        select service, date_day, peak_utilisation from {table} where date_day <= date '{as_of.isoformat()}'
    """).with_columns(pl.col("date_day").cast(pl.Date))  # fmt: skip
    services = sorted(set(cap["service"].to_list()))
    parts = []
    for e in ends:
        flagged = {x.subject for x in R.rule_capacity(_ctx(settings, e, memo))}
        window = cap.filter(
            (pl.col("date_day") > e)
            & (pl.col("date_day") <= e + dt.timedelta(days=R.CAPACITY_HORIZON_DAYS))
        )
        peak = dict(window.group_by("service").agg(pl.col("peak_utilisation").max()).iter_rows())
        parts.append(pl.DataFrame({
            "as_of": [e] * len(services), "customer_id": services, "flagged": [s in flagged for s in services],
            "outcome": [(peak.get(s) or 0.0) >= R.CAPACITY_THRESHOLD for s in services],
        }).with_columns(outcome_mrr=pl.lit(0.0)))  # fmt: skip
    if not parts:
        return None
    bt = _customer_backtest(
        "capacity_near_threshold", f"the service's peak utilisation reached {R.CAPACITY_THRESHOLD:.0%} within 30 days",
        pl.concat(parts), R.CAPACITY_HORIZON_DAYS,
    )  # fmt: skip
    return bt.model_copy(update={"coverage_mrr": None})


# --- all of them -----------------------------------------------------------------------------------

ALL = (
    "customers_at_risk", "upsell_opportunities", "mrr_churn_spike", "mrr_expansion_strong",
    "mrr_net_new_negative", "mrr_forecast_trend", "anomaly_api_requests", "anomaly_api_error_rate",
    "anomaly_failed_payments", "incident_mrr", "capacity_near_threshold",
)  # fmt: skip


def backtest_rules(settings: Settings, as_of: dt.date, only: Iterable[str] | None = None,
                   churn_source: str = "churn_model", memo: Memo | None = None) -> dict[str, Backtest]:  # fmt: skip
    """Backtest each rule in `only` (default all, `ALL`) on data up to `as_of`. The at-risk rule
    is replayed in its `churn_source` form ("churn_model" or "health_score"). Rules that cannot
    be replayed (missing marts, too little history) are absent from the result. `memo`: query
    results to share with a `_Ctx` run on the same warehouse."""
    want = set(ALL if only is None else only)
    memo = {} if memo is None else memo
    months = months_until(settings, as_of, memo)
    jobs: dict[str, Callable[[], Backtest | dict[str, Backtest] | None]] = {
        "customers_at_risk": lambda: (churn_model_backtest if churn_source == "churn_model" else health_backtest)(
            settings, as_of, months, memo),
        "upsell_opportunities": lambda: upsell_backtest(settings, as_of, months, memo),
        "mrr_churn_spike": lambda: _movement_backtest(
            settings, as_of, memo, "mrr_churn_spike", "churned_mrr", lambda nxt, mean: nxt > mean,
            "next month's churned MRR was also above the trailing 6-month mean"),
        "mrr_expansion_strong": lambda: _movement_backtest(
            settings, as_of, memo, "mrr_expansion_strong", "expansion_mrr", lambda nxt, mean: nxt > mean,
            "next month's expansion MRR was also above the trailing 6-month mean"),
        "mrr_net_new_negative": lambda: _movement_backtest(
            settings, as_of, memo, "mrr_net_new_negative", "net_new_mrr", lambda nxt, _: nxt < 0,
            "next month's net new MRR was negative too"),
        "mrr_forecast_trend": lambda: forecast_backtest(settings, as_of, months, memo),
        "anomalies": lambda: anomaly_backtests(settings, as_of, months, memo),
        "incident_mrr": lambda: incident_backtest(settings, as_of, months, memo),
        "capacity_near_threshold": lambda: capacity_backtest(settings, as_of, months, memo),
    }  # fmt: skip
    out: dict[str, Backtest] = {}
    for key, job in jobs.items():
        names = [n for n in ALL if n.startswith("anomaly_")] if key == "anomalies" else [key]
        if not want.intersection(names):
            continue
        t0 = time.perf_counter()
        try:
            got = job()
        except Exception as exc:  # noqa: BLE001 - a rule without replayable history keeps no figure
            log.warning("backtest of %s skipped: %s", key, exc)
            continue
        secs = round(time.perf_counter() - t0, 3)
        results = got if isinstance(got, dict) else {key: got} if got is not None else {}
        for name, bt in results.items():
            if name in want and bt.evaluated_periods > 0:
                out[name] = bt.model_copy(update={"seconds": secs})
    return out


def _p(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.0f}%"


def sentence(bt: Backtest) -> str:
    """The backtest in words, for the insight's description."""
    span = f"{bt.evaluated_periods} month-ends ({bt.first_period} to {bt.last_period})"
    if bt.precision is None and bt.evaluated_periods:
        return f"Backtest over {span}: the rule fired in {bt.fires} ({_p(bt.fire_rate)}); {bt.came_true}: not judged."
    out = f"Backtest over {span}: "
    if bt.flagged is not None:
        out += f"of {bt.flagged} flags, {_p(bt.precision)} came true ({bt.came_true})"
    else:
        out += f"fired in {bt.fires}; {_p(bt.precision)} came true ({bt.came_true})"
    if bt.base_rate is not None:
        out += f", against a base rate of {_p(bt.base_rate)}"
    if bt.coverage is not None:
        out += f"; it caught {_p(bt.coverage)} of all such outcomes"
        if bt.coverage_mrr is not None:
            out += f" and {_p(bt.coverage_mrr)} of their MRR"
    if (r := bt.extra.get("realised_over_expected")) is not None:
        out += f"; realised churned MRR was {_p(float(r))} of the model's expected loss"
    if (u := bt.extra.get("realised_uplift")) is not None:
        out += f"; flagged accounts expanded by {_p(float(u))} of their MRR (assumed {_p(R.UPSELL_UPLIFT)})"
    if (d := bt.extra.get("direction_hit_rate")) is not None:
        out += f"; the direction was right {_p(float(d))} of the time"
    return out + "."
