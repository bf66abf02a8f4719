"""The insight rules: each reads marts as of a date, applies fixed thresholds and states the
numbers it fired on. Deterministic: same warehouse + same `as_of` -> the same insights, same order.

| rule | type | fires when | priority |
|---|---|---|---|
| mrr_churn_spike | risk | last closed month's churned MRR > 1.5 x its trailing 6-month mean and >= 0.5 % of starting MRR | critical if churn >= 5 % of starting MRR, high if >= 3 x the mean, else medium |
| mrr_expansion_strong | opportunity | last closed month's expansion MRR > 1.3 x its trailing 6-month mean | high if >= 2 x, else medium |
| mrr_net_new_negative | risk | last closed month's net new MRR < 0 | high |
| mrr_forecast_trend | trend / risk | always (>= 6 closed months): ETS forecast of ending MRR 3 months ahead | risk/high if it falls > 2 %; trend/medium if it grows > 10 %; else trend/low |
| anomaly_api_requests | anomaly | `analytics.anomalies.detect` (default sensitivity) flags total daily API requests in the last `lookback_days` | high when down, medium when up |
| anomaly_api_error_rate | anomaly | same, daily API error rate, upward windows | critical when the peak score >= 2 x the threshold, else high |
| anomaly_failed_payments | anomaly | same, daily failed charges, upward windows | high |
| incident_mrr | risk | an incident candidate started in the last `lookback_days` | the incident's severity |
| customers_at_risk | risk | always when `analytics.churn_predictions` describes a day <= `as_of`: expected 90-day MRR loss = sum of churn probability x MRR (fct_mrr_daily on that day), the customers carrying half of it, those at p >= 0.5; else (absent or newer) the health fallback: customers at high/critical health risk (`fct_customer_health_current`; skipped when absent or newer than `as_of`) | critical if the loss (or the at-risk MRR) >= 5 % of MRR, high if >= 2 %, else medium |
| upsell_opportunities | opportunity | accounts with high-priority upsell signals (`fct_upsell_signals`: usage at the allowance, or two of near usage limit, seat_pressure, at the plan's seat maximum, growing fast; same skip rule) | high if the estimated uplift >= 2 % of ARR, else medium |
| capacity_near_threshold | risk | a service was tight/over capacity in the last 7 days, or its forecast peak utilisation crosses 80 % within 30 days | high (over capacity), medium (tight, or forecast crosses), low (only the upper bound crosses) |

Impact: financial in USD per year (annualised MRR: excess churn, expansion, forecast change, ARR
of customers touched or at risk, estimated upsell uplift); operational and strategic 0-1.
Ranking: priority, then |financial|, then operational, then id.
Backtests: `generate` attaches each rule's replay on history (`backtest.backtest_rules`, judged as
its module docstring says) to the insight and states it at the end of the description.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Callable
from typing import Any

import polars as pl

from analytics.anomalies import (
    DEFAULT_SENSITIVITY,
    AnomalyWindow,
    anomaly_windows,
    detect,
    threshold_for,
)
from analytics.forecasting import capacity_forecast, forecast
from analytics.metrics import period_end
from analytics.settings import Settings
from analytics.warehouse import run_query

from .model import DataPoint, Impact, Insight, insight_id

LOOKBACK_DAYS = 30  # anomalies and incidents this recent become insights
ANOMALY_HISTORY_DAYS = 365  # history the anomaly detector judges them against
TRAILING_MONTHS = 6
CHURN_SPIKE_RATIO = 1.5
CHURN_MATERIALITY = 0.005  # of starting MRR
CHURN_CRITICAL_SHARE = 0.05
EXPANSION_STRONG_RATIO = 1.3
FORECAST_MONTHS = 3
FORECAST_DECLINE = -0.02
FORECAST_STRONG_GROWTH = 0.10
AT_RISK_LEVELS = ("high", "critical")
CHURN_TABLE = "analytics.churn_predictions"
LIKELY_CHURN = (
    0.5  # p at which the at-risk insight calls a customer "more likely than not to churn"
)
UPSELL_UPLIFT = 0.25  # assumed MRR uplift of an account that upgrades (documented assumption)
CAPACITY_THRESHOLD = 0.8
CAPACITY_HORIZON_DAYS = 30
CAPACITY_RECENT_DAYS = 7


# --- helpers ---------------------------------------------------------------------------------------


def _r(x: float | None, nd: int = 2) -> float | None:
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return None
    return round(float(x), nd)


def _usd(x: float) -> str:
    return f"${x:,.0f}"


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def _make(rule: str, subject: str, period: str, **kw: Any) -> Insight:
    return Insight(
        id=insight_id(rule, subject, period), rule=rule, subject=subject, period=period, **kw
    )


def _month_end(m: dt.date) -> dt.date:
    return period_end(m, "month")


def _exists(settings: Settings, table: str) -> bool:
    try:
        run_query(settings, f"select 1 from {table} limit 0")
    except Exception:  # noqa: BLE001 - absent table (any backend's error): the rule is skipped
        return False
    return True


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _d(value: dt.date) -> str:
    return value.isoformat()


class _Ctx:
    """One run of the rules as of a date. `memo` (shared by the backtest's replays) keeps each
    distinct query's rows, so the queries that do not depend on as_of run once per backtest."""

    def __init__(self, settings: Settings, as_of: dt.date, lookback_days: int,
                 memo: dict[str, Any] | None = None) -> None:  # fmt: skip
        self.settings = settings
        self.as_of = as_of
        self.lookback_days = lookback_days
        self.since = as_of - dt.timedelta(days=lookback_days - 1)
        self._mrr: pl.DataFrame | None = None
        self.memo: dict[str, Any] = {} if memo is None else memo

    def q(self, sql: str) -> pl.DataFrame:
        if sql not in self.memo:
            self.memo[sql] = run_query(self.settings, sql)
        return self.memo[sql]  # type: ignore[no-any-return]

    def exists(self, table: str) -> bool:
        key = f"exists:{table}"
        if key not in self.memo:
            self.memo[key] = _exists(self.settings, table)
        return bool(self.memo[key])

    def closed_months(self) -> pl.DataFrame:
        if self._mrr is None:
            m = self.q("select * from marts.fct_mrr_summary_monthly order by month_start")
            ends = [_month_end(d) for d in m["month_start"]]
            self._mrr = m.filter(pl.Series([e <= self.as_of for e in ends], dtype=pl.Boolean))
        return self._mrr


# --- MRR movements ---------------------------------------------------------------------------------


def _movement_context(ctx: _Ctx, column: str) -> tuple[dict[str, Any], float, float, str] | None:
    m = ctx.closed_months()
    if m.height < 4:
        return None
    last = m.row(m.height - 1, named=True)
    trailing = m.slice(max(0, m.height - 1 - TRAILING_MONTHS), min(TRAILING_MONTHS, m.height - 1))
    mean = float(trailing[column].mean())  # type: ignore[arg-type]
    return last, float(last[column]), mean, last["month_start"].strftime("%Y-%m")


def rule_mrr_churn_spike(ctx: _Ctx) -> list[Insight]:
    got = _movement_context(ctx, "churned_mrr")
    if got is None:
        return []
    last, churned, mean, period = got
    start = float(last["starting_mrr"]) or 0.0
    share = churned / start if start > 0 else 0.0
    ratio = churned / mean if mean > 0 else math.inf
    if not (churned > CHURN_SPIKE_RATIO * mean and share >= CHURN_MATERIALITY):
        return []
    priority = "critical" if share >= CHURN_CRITICAL_SHARE else "high" if ratio >= 3 else "medium"
    ratio_txt = f"{ratio:.1f}x" if math.isfinite(ratio) else "far above"
    return [_make(
        "mrr_churn_spike", "mrr", period, type="risk", priority=priority,
        title=f"Churned MRR in {period} was {ratio_txt} its 6-month average",
        description=(f"{_usd(churned)} of MRR churned in {period} ({_pct(share)} of the {_usd(start)} starting MRR, "
                     f"{int(last['churned_customers'])} customers), against a trailing {TRAILING_MONTHS}-month average of "
                     f"{_usd(mean)}. Rule: churned MRR > {CHURN_SPIKE_RATIO}x the trailing average and >= "
                     f"{_pct(CHURN_MATERIALITY)} of starting MRR."),
        data_points=[DataPoint(label="churned_mrr", value=_r(churned), period=period),
                     DataPoint(label="trailing_mean_churned_mrr", value=_r(mean), period=period),
                     DataPoint(label="starting_mrr", value=_r(start), period=period)],
        recommendations=["Review the churned accounts' exit reasons and health history",
                         "Check billing failures and incidents in the month for a common cause",
                         "Prioritise save plays for at-risk accounts of the same segment"],
        confidence=0.9,
        impact=Impact(financial=_r(-(churned - mean) * 12), operational=0.3, strategic=_r(min(1.0, share * 10))),
        evidence={"churned_mrr": _r(churned), "trailing_mean": _r(mean), "ratio": _r(ratio if math.isfinite(ratio) else None),
                  "starting_mrr": _r(start), "churn_share_of_start": _r(share, 4),
                  "churned_customers": int(last["churned_customers"])},
    )]  # fmt: skip


def rule_mrr_expansion_strong(ctx: _Ctx) -> list[Insight]:
    got = _movement_context(ctx, "expansion_mrr")
    if got is None:
        return []
    last, expansion, mean, period = got
    if not (expansion > 0 and expansion > EXPANSION_STRONG_RATIO * mean):
        return []
    ratio = expansion / mean if mean > 0 else math.inf
    start = float(last["starting_mrr"]) or 0.0
    return [_make(
        "mrr_expansion_strong", "mrr", period, type="opportunity",
        priority="high" if ratio >= 2 else "medium",
        title=f"Expansion MRR in {period} was {ratio:.1f}x its 6-month average" if math.isfinite(ratio)
        else f"Expansion MRR in {period} started growing",
        description=(f"{int(last['expansion_customers'])} customers expanded by {_usd(expansion)} of MRR in {period}, "
                     f"against a trailing {TRAILING_MONTHS}-month average of {_usd(mean)}. Rule: expansion MRR > "
                     f"{EXPANSION_STRONG_RATIO}x the trailing average."),
        data_points=[DataPoint(label="expansion_mrr", value=_r(expansion), period=period),
                     DataPoint(label="trailing_mean_expansion_mrr", value=_r(mean), period=period)],
        recommendations=["Find what the expanding accounts have in common (plan, segment, features) and target look-alikes",
                         "Work the upsell signal list while expansion momentum lasts"],
        confidence=0.9,
        impact=Impact(financial=_r((expansion - mean) * 12), operational=0.1,
                      strategic=_r(min(1.0, expansion / start * 10)) if start > 0 else None),
        evidence={"expansion_mrr": _r(expansion), "trailing_mean": _r(mean),
                  "ratio": _r(ratio if math.isfinite(ratio) else None),
                  "expansion_customers": int(last["expansion_customers"])},
    )]  # fmt: skip


def rule_mrr_net_new_negative(ctx: _Ctx) -> list[Insight]:
    m = ctx.closed_months()
    if m.height == 0:
        return []
    last = m.row(m.height - 1, named=True)
    net = float(last["net_new_mrr"])
    if net >= 0:
        return []
    period = last["month_start"].strftime("%Y-%m")
    parts = {
        k: float(last[f"{k}_mrr"])
        for k in ("new", "expansion", "reactivation", "contraction", "churned")
    }
    return [_make(
        "mrr_net_new_negative", "mrr", period, type="risk", priority="high",
        title=f"MRR shrank by {_usd(-net)} in {period}",
        description=(f"Net new MRR in {period} was {_usd(net)}: new {_usd(parts['new'])} + expansion "
                     f"{_usd(parts['expansion'])} + reactivation {_usd(parts['reactivation'])} - contraction "
                     f"{_usd(parts['contraction'])} - churn {_usd(parts['churned'])}. Rule: net new MRR < 0."),
        data_points=[DataPoint(label=f"{k}_mrr", value=_r(v), period=period) for k, v in parts.items()],
        recommendations=["Split the loss by segment and plan to find where it comes from",
                         "Review acquisition: new MRR no longer covers churn and contraction"],
        confidence=0.95,
        impact=Impact(financial=_r(net * 12), operational=0.2, strategic=0.6),
        evidence={"net_new_mrr": _r(net), **{f"{k}_mrr": _r(v) for k, v in parts.items()}},
    )]  # fmt: skip


def rule_mrr_forecast_trend(ctx: _Ctx) -> list[Insight]:
    m = ctx.closed_months()
    if m.height < 6:
        return []
    series = m.select(
        pl.col("month_start").alias("ds"), pl.col("ending_mrr").cast(pl.Float64).alias("y")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc = forecast(series, FORECAST_MONTHS, freq="MS", method="ets")
    last = float(series["y"][-1])
    end = fc.row(fc.height - 1, named=True)
    yhat, lo, hi = float(end["yhat"]), float(end["yhat_lower"]), float(end["yhat_upper"])
    change = yhat / last - 1 if last > 0 else 0.0
    period = f"{fc['ds'][0].strftime('%Y-%m')}..{end['ds'].strftime('%Y-%m')}"
    if change < FORECAST_DECLINE:
        kind, priority, verb = "risk", "high", "fall"
    elif change > FORECAST_STRONG_GROWTH:
        kind, priority, verb = "trend", "medium", "grow"
    else:
        kind, priority, verb = (
            "trend",
            "low",
            "stay flat" if abs(change) < 0.01 else ("grow" if change > 0 else "fall"),
        )
    width = (hi - lo) / (2 * yhat) if yhat > 0 else 1.0
    return [_make(
        "mrr_forecast_trend", "mrr", period, type=kind, priority=priority,
        title=f"MRR is forecast to {verb} {_pct(abs(change))} over the next {FORECAST_MONTHS} months",
        description=(f"Ending MRR was {_usd(last)} in {m['month_start'][-1].strftime('%Y-%m')}; the {end['method']} "
                     f"forecast for {end['ds'].strftime('%Y-%m')} is {_usd(yhat)} (80% interval {_usd(lo)} to "
                     f"{_usd(hi)}), a {change:+.1%} change. Rule: risk below {FORECAST_DECLINE:+.0%}, strong growth "
                     f"above {FORECAST_STRONG_GROWTH:+.0%}."),
        data_points=[DataPoint(label="ending_mrr", value=_r(last), period=m["month_start"][-1].strftime("%Y-%m"))]
        + [DataPoint(label="forecast_mrr", value=_r(float(r["yhat"])), period=r["ds"].strftime("%Y-%m"))
           for r in fc.iter_rows(named=True)],
        recommendations=(["Review pipeline coverage and retention plans against the forecast gap"] if kind == "risk"
                         else ["Plan hiring and infrastructure for the projected growth"] if priority == "medium"
                         else ["Track the forecast monthly; no action needed yet"]),
        confidence=_r(min(0.95, max(0.1, 1 - width))),  # type: ignore[arg-type]
        impact=Impact(financial=_r((yhat - last) * 12), operational=0.1, strategic=_r(min(1.0, abs(change) * 5))),
        evidence={"last_mrr": _r(last), "forecast_mrr": _r(yhat), "forecast_lower": _r(lo), "forecast_upper": _r(hi),
                  "change": _r(change, 4), "method": str(end["method"]), "months_of_history": m.height},
    )]  # fmt: skip


# --- anomalies on headline daily series ------------------------------------------------------------

_SERIES: dict[str, dict[str, Any]] = {
    "api_requests": {
        "label": "API requests",
        "directions": ("up", "down"),
        "fmt": lambda v: f"{v:,.0f}",
    },
    "api_error_rate": {"label": "API error rate", "directions": ("up",), "fmt": lambda v: _pct(v)},
    "failed_payments": {
        "label": "failed payments",
        "directions": ("up",),
        "fmt": lambda v: f"{v:,.0f}",
    },
}


def _daily_series(ctx: _Ctx) -> pl.DataFrame:
    start = ctx.as_of - dt.timedelta(days=ANOMALY_HISTORY_DAYS - 1)
    # whole series, cut to the window here: one query however many dates the backtest replays
    api = ctx.q("""
        select date_day as ds, sum(requests) as requests, sum(errors) as errors
        from marts.fct_api_metrics_daily group by 1
    """)  # fmt: skip
    days = pl.DataFrame({"ds": pl.date_range(start, ctx.as_of, eager=True)})
    parts = []
    if api.height:
        api = days.join(api.with_columns(pl.col("ds").cast(pl.Date)), on="ds", how="inner")
        parts += [
            api.select(pl.lit("api_requests").alias("unique_id"), "ds", pl.col("requests").cast(pl.Float64).alias("y")),
            api.select(pl.lit("api_error_rate").alias("unique_id"), "ds",
                       (pl.col("errors").cast(pl.Float64) / pl.col("requests").cast(pl.Float64)).alias("y")),
        ]  # fmt: skip
    if ctx.exists("marts.fct_payments"):
        pay = ctx.q("""
            select payment_date as ds, sum(case when is_failed then 1 else 0 end) as failed
            from marts.fct_payments group by 1
        """).with_columns(pl.col("ds").cast(pl.Date)).filter(pl.col("ds").is_between(start, ctx.as_of))  # fmt: skip
        if pay.height:
            first = pay["ds"].min()
            parts.append(days.filter(pl.col("ds") >= first).join(pay, on="ds", how="left").select(
                pl.lit("failed_payments").alias("unique_id"), "ds", pl.col("failed").fill_null(0).cast(pl.Float64).alias("y")))  # fmt: skip
    if not parts:
        return pl.DataFrame(schema={"unique_id": pl.String, "ds": pl.Date, "y": pl.Float64})
    return (
        pl.concat(parts)
        .filter(pl.col("y").is_not_null() & pl.col("y").is_finite())
        .sort("unique_id", "ds")
    )


def anomaly_windows_as_of(ctx: _Ctx) -> list[AnomalyWindow]:
    """Every window the detector flags on the headline daily series, judged on data up to as_of
    (the last ANOMALY_HISTORY_DAYS days), in the directions each series reports."""
    series = _daily_series(ctx)
    if series.height == 0:
        return []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = detect(series, DEFAULT_SENSITIVITY)
    return [
        w for w in anomaly_windows(result) if w.direction in _SERIES[str(w.series_id)]["directions"]
    ]


def rule_anomalies(ctx: _Ctx) -> list[Insight]:
    k = threshold_for(DEFAULT_SENSITIVITY)
    out: list[Insight] = []
    for w in anomaly_windows_as_of(ctx):
        meta = _SERIES[str(w.series_id)]
        if w.end < ctx.since:
            continue
        name = str(w.series_id)
        period = f"{_d(w.start)}..{_d(w.end)}"  # type: ignore[arg-type]
        fmt = meta["fmt"]
        if name == "api_error_rate":
            priority = "critical" if w.peak_score >= 2 * k else "high"
            recs = [
                "Open an incident review for the window and confirm the root cause",
                "Notify affected customers and check SLA credits",
            ]
        elif name == "failed_payments":
            priority = "high"
            recs = [
                "Check the payment processor's status and decline codes for the window",
                "Make sure dunning retries are scheduled for the failed charges",
            ]
        elif w.direction == "down":
            priority = "high"
            recs = [
                "Check ingestion and the API gateway for an outage or a broken client",
                "Look for the accounts whose traffic stopped",
            ]
        else:
            priority = "medium"
            recs = [
                "Check capacity headroom for the new traffic level",
                "Find the accounts driving the surge: upsell candidates if it lasts",
            ]
        dev = w.deviation
        dev_txt = f" ({dev:+.0%} vs expected)" if dev is not None else ""
        out.append(_make(
            f"anomaly_{name}", name, period, type="anomaly", priority=priority,
            title=f"{_cap(meta['label'])} {'spiked' if w.direction == 'up' else 'dropped'} on {_d(w.peak_ds)}{dev_txt}",  # type: ignore[arg-type]
            description=(f"{_cap(meta['label'])} was {fmt(w.peak_y)} on {_d(w.peak_ds)} against an expected "  # type: ignore[arg-type]
                         f"{fmt(w.peak_expected)}: anomaly score {w.peak_score:.1f} (threshold {k:.1f} at sensitivity "
                         f"{DEFAULT_SENSITIVITY}), {w.periods} anomalous day(s) from {_d(w.start)} to {_d(w.end)}."),  # type: ignore[arg-type]
            data_points=[DataPoint(label=f"{name}_observed", value=_r(w.peak_y, 6), period=_d(w.peak_ds)),  # type: ignore[arg-type]
                         DataPoint(label=f"{name}_expected", value=_r(w.peak_expected, 6), period=_d(w.peak_ds))],  # type: ignore[arg-type]
            recommendations=recs,
            confidence=_r(min(0.99, max(0.5, 1 - 1 / w.peak_score)), 3),  # type: ignore[arg-type]
            impact=Impact(financial=None, operational=_r(min(1.0, w.peak_score / 20), 3), strategic=None),
            evidence={"peak_value": _r(w.peak_y, 6), "expected": _r(w.peak_expected, 6), "peak_score": _r(w.peak_score, 3),
                      "threshold": _r(k), "deviation": _r(dev, 4), "anomalous_days": w.periods,
                      "direction": w.direction},
        ))  # fmt: skip
    return out


# --- incidents, customers, upsell, capacity --------------------------------------------------------

_SEVERITY = {"low": "low", "medium": "medium", "high": "high", "critical": "critical"}


def rule_incident_mrr(ctx: _Ctx) -> list[Insight]:
    if not ctx.exists("marts.fct_incident_candidates"):
        return []
    inc = ctx.q("""
        select incident_id, started_at, ended_at, duration_hours, severity, severity_rank, breach_metrics,
               affected_services, is_platform_wide, customers_affected, paying_customers_affected,
               mrr_affected, peak_error_rate, baseline_error_rate
        from marts.fct_incident_candidates
        order by started_at, incident_id
    """)  # fmt: skip
    day = pl.col("started_at").cast(pl.Date)
    inc = inc.filter(day.is_between(ctx.since, ctx.as_of))
    out = []
    for r in inc.iter_rows(named=True):
        mrr = float(r["mrr_affected"] or 0.0)
        sev = _SEVERITY.get(str(r["severity"]), "medium")
        started = r["started_at"].strftime("%Y-%m-%d %H:%M")
        out.append(_make(
            "incident_mrr", str(r["incident_id"]), r["started_at"].date().isoformat(), type="risk", priority=sev,
            title=f"{sev.capitalize()} incident {r['incident_id']} touched {int(r['paying_customers_affected'] or 0)} "
                  f"paying customers ({_usd(mrr)} MRR)",
            description=(f"Incident {r['incident_id']} started {started} UTC and lasted {float(r['duration_hours']):.0f} h "
                         f"on {r['affected_services']} (breaches: {r['breach_metrics']}). "
                         f"{int(r['customers_affected'] or 0)} customers were active during it, "
                         f"{int(r['paying_customers_affected'] or 0)} paying, holding {_usd(mrr)} of MRR."),
            data_points=[DataPoint(label="mrr_affected", value=_r(mrr), period=started),
                         DataPoint(label="paying_customers_affected", value=int(r["paying_customers_affected"] or 0), period=started),
                         DataPoint(label="duration_hours", value=_r(float(r["duration_hours"])), period=started)],
            recommendations=["Write the post-incident review and share it with affected accounts",
                             "Have customer success check in with the largest affected accounts",
                             "Review SLA credits owed for the window"],
            confidence=0.9,
            impact=Impact(financial=_r(-mrr * 12), operational=_r(min(1.0, int(r["severity_rank"] or 1) / 4)),
                          strategic=0.5 if r["is_platform_wide"] else 0.2),
            evidence={"mrr_affected": _r(mrr), "customers_affected": int(r["customers_affected"] or 0),
                      "paying_customers_affected": int(r["paying_customers_affected"] or 0),
                      "duration_hours": _r(float(r["duration_hours"])), "severity_rank": int(r["severity_rank"] or 0),
                      "peak_error_rate": _r(r["peak_error_rate"], 4), "baseline_error_rate": _r(r["baseline_error_rate"], 4)},
        ))  # fmt: skip
    return out


def _snapshot_ok(ctx: _Ctx, table: str) -> bool:
    """A snapshot table ("current" state) is used only when present and not newer than as_of."""
    if not ctx.exists(table):
        return False
    snap = ctx.q(f"select max(as_of_date) as d from {table}")["d"][0]
    return snap is not None and snap <= ctx.as_of


def _current_mrr(ctx: _Ctx) -> pl.DataFrame:
    return ctx.q(f"""
        select customer_id, end_mrr from marts.fct_customer_mrr_monthly
        where month_start = (select max(month_start) from marts.fct_customer_mrr_monthly
                             where month_start <= date '{_d(ctx.as_of)}')
    """)  # fmt: skip


def _health_at_risk(ctx: _Ctx, why_fallback: str) -> list[Insight]:
    """The fallback: customers at high/critical health risk and the MRR they hold."""
    table = "marts.fct_customer_health_current"
    if not _snapshot_ok(ctx, table):
        return []
    levels = ", ".join(f"'{x}'" for x in AT_RISK_LEVELS)
    risk = ctx.q(f"""
        select customer_id, customer_name, risk_level, health_score, main_drag_factor, as_of_date
        from {table} where risk_level in ({levels})
    """)  # fmt: skip
    if risk.height == 0:
        return []
    mrr = _current_mrr(ctx)
    total = float(mrr["end_mrr"].sum())
    risk = (
        risk.join(mrr, on="customer_id", how="left")
        .with_columns(pl.col("end_mrr").fill_null(0.0))
        .sort(["end_mrr", "customer_id"], descending=[True, False])
    )
    at_risk = float(risk["end_mrr"].sum())
    share = at_risk / total if total > 0 else 0.0
    priority = "critical" if share >= 0.05 else "high" if share >= 0.02 else "medium"
    n_crit = int((risk["risk_level"] == "critical").sum())
    drags = (
        risk.group_by("main_drag_factor")
        .len()
        .sort(["len", "main_drag_factor"], descending=[True, False])
    )
    top_drag = str(drags["main_drag_factor"][0]) if drags.height else "unknown"
    period = f"as of {_d(risk['as_of_date'][0])}"
    return [_make(
        "customers_at_risk", "customers", period, type="risk", priority=priority,
        title=f"{risk.height} customers at high or critical risk hold {_usd(at_risk)} MRR ({_pct(share)})",
        description=(f"{risk.height} customers ({n_crit} critical) have a high or critical health risk level, holding "
                     f"{_usd(at_risk)} of the {_usd(total)} MRR ({_pct(share)}). Most common main drag: {top_drag}. "
                     f"Rule: risk level in {list(AT_RISK_LEVELS)}; critical if >= 5% of MRR, high if >= 2%. "
                     f"Health-score fallback: {why_fallback}."),
        data_points=[DataPoint(label=str(r["customer_name"] or r["customer_id"]), value=_r(r["end_mrr"]),
                               period=str(r["risk_level"])) for r in risk.head(5).iter_rows(named=True)],
        recommendations=["Assign a customer success manager to each critical account this week",
                         f"Address the main drag factor ({top_drag}) with a targeted play",
                         "Offer a health review call to the high-risk accounts"],
        confidence=0.7,
        impact=Impact(financial=_r(-at_risk * 12), operational=_r(min(1.0, risk.height / 50)), strategic=_r(min(1.0, share * 10))),
        evidence={"customers_at_risk": risk.height, "critical": n_crit, "mrr_at_risk": _r(at_risk),
                  "total_mrr": _r(total), "share_of_mrr": _r(share, 4), "main_drag": top_drag,
                  "source": "health_score"},
    )]  # fmt: skip


def _churn_predictions(ctx: _Ctx) -> tuple[pl.DataFrame, dt.date] | str:
    """The churn model's predictions and the last day of data they use (`as_of`), or why they
    cannot be used."""
    if not ctx.exists(CHURN_TABLE):
        return f"{CHURN_TABLE} is absent"
    preds = ctx.q(f"select customer_id, churn_probability, churn_probability_30d, as_of from {CHURN_TABLE}")
    if preds.height == 0:
        return f"{CHURN_TABLE} is empty"
    observed = preds["as_of"].max()
    if observed > ctx.as_of:  # type: ignore[operator]
        return f"the churn predictions describe {observed}, after {ctx.as_of}"
    return preds, observed  # type: ignore[return-value]


def rule_customers_at_risk(ctx: _Ctx) -> list[Insight]:
    """Expected 90-day MRR loss from the churn model (sum of p x MRR); the health-score rule when
    the predictions are absent or newer than as_of."""
    got = _churn_predictions(ctx)
    if isinstance(got, str):
        return _health_at_risk(ctx, got)
    preds, observed = got
    mrr = ctx.q(f"""
        select m.customer_id, m.mrr, c.customer_name
        from marts.fct_mrr_daily as m
        left join marts.dim_customers as c on c.customer_id = m.customer_id
        where m.date_day = date '{_d(observed)}' and m.mrr > 0
    """)  # fmt: skip
    total = float(mrr["mrr"].sum() or 0.0)
    risk = preds.join(mrr, on="customer_id", how="inner")
    if risk.height == 0 or total <= 0:
        return _health_at_risk(ctx, f"no paying customer of {_d(observed)} has a churn prediction")
    risk = risk.with_columns(
        (pl.col("churn_probability") * pl.col("mrr")).alias("expected_loss"),
        (pl.col("churn_probability_30d") * pl.col("mrr")).alias("expected_loss_30d"),
    ).sort(["expected_loss", "customer_id"], descending=[True, False])
    loss = float(risk["expected_loss"].sum())
    loss30 = float(risk["expected_loss_30d"].sum())
    share = loss / total
    # the customers that carry half of the expected loss, largest first
    carry = int((risk["expected_loss"].cum_sum() < 0.5 * loss).sum()) + 1
    likely = risk.filter(pl.col("churn_probability") >= LIKELY_CHURN)
    priority = "critical" if share >= 0.05 else "high" if share >= 0.02 else "medium"
    period = f"as of {_d(observed)}"
    top = ", ".join(f"{r['customer_name'] or r['customer_id']} ({_usd(r['expected_loss'])}, p={r['churn_probability']:.2f})"
                    for r in risk.head(3).iter_rows(named=True))  # fmt: skip
    return [_make(
        "customers_at_risk", "customers", period, type="risk", priority=priority,
        title=f"Churn is expected to cost {_usd(loss)} of MRR within 90 days ({_pct(share)} of MRR)",
        description=(f"The churn model ({CHURN_TABLE}, data through {_d(observed)}) expects {_usd(loss)} of the "
                     f"{_usd(total)} MRR to churn within 90 days: the sum of each paying customer's 90-day churn "
                     f"probability x its MRR, over {risk.height} customers. Within 30 days: {_usd(loss30)}. {carry} customers carry half of it; "
                     f"the largest: {top}. {likely.height} customers are more likely than not to churn "
                     f"(p >= {LIKELY_CHURN:.1f}), holding {_usd(float(likely['mrr'].sum()))} MRR. "
                     f"Rule: critical if the expected loss is >= 5% of MRR, high if >= 2%."),
        data_points=[DataPoint(label=str(r["customer_name"] or r["customer_id"]), value=_r(r["expected_loss"]),
                               period=f"p={r['churn_probability']:.3f}") for r in risk.head(5).iter_rows(named=True)],
        recommendations=["Assign a customer success manager to the accounts carrying most of the expected loss",
                         f"Run a save play for the {likely.height} customers more likely than not to churn",
                         "Review each account's top churn risk factors (analytics.churn_predictions.risk_factors)"],
        confidence=0.7,
        impact=Impact(financial=_r(-loss * 12), operational=_r(min(1.0, carry / 50)), strategic=_r(min(1.0, share * 10))),
        evidence={"expected_mrr_loss_90d": _r(loss), "expected_mrr_loss_30d": _r(loss30), "total_mrr": _r(total),
                  "share_of_mrr": _r(share, 4), "customers_scored": risk.height, "customers_carrying_half": carry,
                  "likely_churners": likely.height, "likely_churners_mrr": _r(float(likely["mrr"].sum())),
                  "predictions_as_of": _d(observed), "source": "churn_model"},
    )]  # fmt: skip


def rule_upsell_opportunities(ctx: _Ctx) -> list[Insight]:
    table = "marts.fct_upsell_signals"
    if not _snapshot_ok(ctx, table):
        return []
    up = ctx.q(f"""
        select customer_id, customer_name, current_mrr, signal_count, near_usage_limit, seat_pressure,
               at_plan_seat_max, growing_fast, as_of_date
        from {table} where priority = 'high'
    """).sort(["current_mrr", "customer_id"], descending=[True, False])  # fmt: skip
    if up.height == 0:
        return []
    mrr = float(up["current_mrr"].sum())
    uplift = mrr * UPSELL_UPLIFT * 12
    total = float(_current_mrr(ctx)["end_mrr"].sum())
    share = uplift / (total * 12) if total > 0 else 0.0
    counts = {
        c: int(up[c].sum())
        for c in ("near_usage_limit", "seat_pressure", "at_plan_seat_max", "growing_fast")
    }
    period = f"as of {_d(up['as_of_date'][0])}"
    return [_make(
        "upsell_opportunities", "customers", period, type="opportunity", priority="high" if share >= 0.02 else "medium",
        title=f"{up.height} accounts show strong upsell signals (est. +{_usd(uplift)} ARR)",
        description=(f"{up.height} accounts have high-priority upsell signals ({counts['near_usage_limit']} near their usage "
                     f"limit, {counts['seat_pressure']} growing teams with seats full two months running, "
                     f"{counts['at_plan_seat_max']} at the plan's seat "
                     f"maximum, {counts['growing_fast']} growing fast), with {_usd(mrr)} current MRR. At an assumed "
                     f"{_pct(UPSELL_UPLIFT)} uplift on upgrade that is {_usd(uplift)} of ARR ({_pct(share)} of ARR)."),
        data_points=[DataPoint(label=str(r["customer_name"] or r["customer_id"]), value=_r(r["current_mrr"]),
                               period=period) for r in up.head(5).iter_rows(named=True)],
        recommendations=["Route the accounts near their usage limit to account executives for a plan upgrade",
                         "Offer seat packs to growing teams whose seats have been full for two months"],
        confidence=0.6,
        impact=Impact(financial=_r(uplift), operational=0.1, strategic=_r(min(1.0, share * 10))),
        evidence={"accounts": up.height, "current_mrr": _r(mrr), "assumed_uplift": UPSELL_UPLIFT,
                  "estimated_arr_uplift": _r(uplift), **counts},
    )]  # fmt: skip


def rule_capacity(ctx: _Ctx) -> list[Insight]:
    table = "marts.fct_service_capacity_daily"
    if not ctx.exists(table):
        return []
    start = ctx.as_of - dt.timedelta(days=89)
    cap = ctx.q(f"""
        select service, date_day, peak_utilisation, capacity_status
        from {table} order by service, date_day
    """).with_columns(pl.col("date_day").cast(pl.Date)).filter(pl.col("date_day").is_between(start, ctx.as_of))  # fmt: skip
    if cap.height == 0:
        return []
    recent_from = ctx.as_of - dt.timedelta(days=CAPACITY_RECENT_DAYS - 1)
    recent = (
        cap.filter(pl.col("date_day") >= recent_from)
        .group_by("service")
        .agg(
            pl.col("peak_utilisation").max().alias("recent_peak"),
            (pl.col("capacity_status") == "over_capacity").sum().alias("over_days"),
            (pl.col("capacity_status") == "tight").sum().alias("tight_days"),
        )
    )
    series = cap.select(pl.col("service").alias("unique_id"), pl.col("date_day").alias("ds"),
                        pl.col("peak_utilisation").fill_null(0.0).clip(0.0, 1.0).alias("y"))  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = capacity_forecast(
            series, CAPACITY_HORIZON_DAYS, CAPACITY_THRESHOLD, method="fast_ets"
        ).summary
    summary = (
        summary.rename({"unique_id": "service"})
        .join(recent, on="service", how="left")
        .sort("service")
    )
    out = []
    for r in summary.iter_rows(named=True):
        over, tight = int(r["over_days"] or 0), int(r["tight_days"] or 0)
        status = str(r["status"])
        if over:
            priority, why = (
                "high",
                f"over capacity on {over} of the last {CAPACITY_RECENT_DAYS} days",
            )
        elif tight:
            priority, why = "medium", f"tight on {tight} of the last {CAPACITY_RECENT_DAYS} days"
        elif status in ("above", "crosses"):
            priority, why = (
                "medium",
                f"forecast to cross {_pct(CAPACITY_THRESHOLD)} peak utilisation on {r['crosses_on']}",
            )
        elif status == "may_cross":
            priority, why = (
                "low",
                f"may cross {_pct(CAPACITY_THRESHOLD)} (upper bound) on {r['crosses_on_upper']}",
            )
        else:
            continue
        svc = str(r["service"])
        out.append(_make(
            "capacity_near_threshold", svc, _d(ctx.as_of), type="risk", priority=priority,
            title=f"{svc} is near its capacity: {why}",
            description=(f"{svc} peaked at {_pct(float(r['recent_peak'] or 0))} utilisation in the last "
                         f"{CAPACITY_RECENT_DAYS} days (last day {_pct(float(r['last_utilisation']))}); the "
                         f"{r['method']} forecast peaks at {_pct(float(r['peak_yhat']))} within {CAPACITY_HORIZON_DAYS} "
                         f"days against a {_pct(CAPACITY_THRESHOLD)} threshold. Rule: {why}."),
            data_points=[DataPoint(label="recent_peak_utilisation", value=_r(r["recent_peak"], 4), period=_d(ctx.as_of)),
                         DataPoint(label="forecast_peak_utilisation", value=_r(r["peak_yhat"], 4),
                                   period=f"next {CAPACITY_HORIZON_DAYS} days")],
            recommendations=[f"Raise {svc}'s instance limit or schedule a scale-up before the peak",
                             f"Profile {svc}'s heaviest requests for optimisation"],
            confidence=0.9 if over or tight else 0.6,
            impact=Impact(financial=None, operational=_r(min(1.0, float(r["recent_peak"] or r["peak_yhat"] or 0)), 3), strategic=0.2),
            evidence={"recent_peak_utilisation": _r(r["recent_peak"], 4), "over_capacity_days": over, "tight_days": tight,
                      "last_utilisation": _r(r["last_utilisation"], 4), "forecast_peak": _r(r["peak_yhat"], 4),
                      "threshold": CAPACITY_THRESHOLD, "forecast_status": status},
        ))  # fmt: skip
    return out


RULES: dict[str, Callable[[_Ctx], list[Insight]]] = {
    "mrr_churn_spike": rule_mrr_churn_spike,
    "mrr_expansion_strong": rule_mrr_expansion_strong,
    "mrr_net_new_negative": rule_mrr_net_new_negative,
    "mrr_forecast_trend": rule_mrr_forecast_trend,
    "anomalies": rule_anomalies,  # anomaly_api_requests, anomaly_api_error_rate, anomaly_failed_payments
    "incident_mrr": rule_incident_mrr,
    "customers_at_risk": rule_customers_at_risk,
    "upsell_opportunities": rule_upsell_opportunities,
    "capacity_near_threshold": rule_capacity,
}


def default_as_of(settings: Settings) -> dt.date:
    """The last day with API metrics (the data's "today"); else the last MRR month's end."""
    if _exists(settings, "marts.fct_api_metrics_daily"):
        d = run_query(settings, "select max(date_day) as d from marts.fct_api_metrics_daily")["d"][
            0
        ]
        if d is not None:
            return d  # type: ignore[no-any-return]
    m = run_query(settings, "select max(month_start) as d from marts.fct_mrr_summary_monthly")["d"][
        0
    ]
    if m is None:
        raise RuntimeError("no data to generate insights from: build the marts first")
    return _month_end(m)


def generate(
    settings: Settings,
    as_of: dt.date | None = None,
    *,
    lookback_days: int = LOOKBACK_DAYS,
    backtest: bool = True,
) -> list[Insight]:
    """Run every rule on the marts as of `as_of` (default: the data's last day) and return the
    insights ranked by priority, then |financial impact|, then operational impact, then id.
    Anomalies and incidents count when they fall in the last `lookback_days` days. With
    `backtest`, each insight carries its rule's backtest on data up to `as_of` (`Insight.backtest`,
    stated in words at the end of its description)."""
    if isinstance(as_of, dt.datetime):
        as_of = as_of.date()
    ctx = _Ctx(settings, as_of or default_as_of(settings), lookback_days)
    found: dict[str, Insight] = {}
    for rule in RULES.values():
        for x in rule(ctx):
            found[x.id] = x
    if backtest and found:
        found = {
            k: x for k, x in zip(found, _with_backtests(ctx, list(found.values())), strict=True)
        }
    return sorted(found.values(), key=Insight.sort_key)


def _with_backtests(ctx: _Ctx, insights: list[Insight]) -> list[Insight]:
    from .backtest import backtest_rules, sentence  # the backtest replays these rules: import late

    source = next(
        (str(x.evidence.get("source")) for x in insights if x.rule == "customers_at_risk"),
        "churn_model",
    )
    figures = backtest_rules(ctx.settings, ctx.as_of, only={x.rule for x in insights}, churn_source=source,
                             memo=ctx.memo)  # fmt: skip
    out = []
    for x in insights:
        bt = figures.get(x.rule)
        out.append(
            x
            if bt is None
            else x.model_copy(
                update={"backtest": bt, "description": f"{x.description} {sentence(bt)}"}
            )
        )
    return out
