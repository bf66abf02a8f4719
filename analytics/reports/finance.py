"""Financial management reports: MRR, revenue recognition, revenue reports, forecasts and
scenarios, cash flow, unit economics (LTV / CAC), payment recovery and financial statements.

Every function runs SQL over the finance marts and the `analytics` dataset (or a governed metric
through `analytics.metrics.query`, so the answer carries the metric's definition) and returns a
`FinanceResult`: named `Report`s (rows, SQL, tables, freshness) plus the definitions of the
governed metrics used. Numbers are computed in SQL or by the analytics models; callers only shape.
"""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import sqlglot
from sqlglot import exp

from analytics import metrics as metric_layer
from analytics.forecasting.scenarios import assumptions_from_mrr_bridge, cash_flow_projection
from analytics.metrics.semantic_layer import MetricDefinition
from analytics.settings import Settings

from .base import Report, ReportError, closest, fetch

MAX_RANGE_YEARS = 20
MAX_DAILY_DAYS = 366
MAX_LIMIT = 1000
# The floor on monthly churn used for LTV when churn is zero: dbt var `ltv_min_monthly_churn`
# (dbt_project.yml; a test pins the two together). Used for the per-segment LTV view.
LTV_MIN_MONTHLY_CHURN = 0.005

Breakdown = Literal["segment", "plan_tier"]
RevenueKind = Literal["summary", "subscription_changes", "usage_charges", "invoices"]
StatementKind = Literal["pnl", "budget_variance", "costs", "kpis"]
RecoveryStatus = Literal["unpaid", "open", "uncollectible", "recovered", "all"]
Progress = Callable[[float, float, str], None]

MRR_METRICS = ("mrr", "arr", "paying_customers", "arpa", "new_mrr", "expansion_mrr", "contraction_mrr",
               "churned_mrr", "reactivation_mrr")  # fmt: skip
FORECAST_SERIES = ("mrr", "recognized_revenue")
SCENARIOS = ("base", "optimistic", "pessimistic")
MOVEMENTS = ("new", "expansion", "contraction", "churn", "reactivation")

# Payment recovery rules, first match wins (see `payment_recovery`).
HARD_DECLINE_CODES = ("expired_card", "incorrect_number", "invalid_number", "invalid_expiry_month",
                      "invalid_expiry_year", "lost_card", "stolen_card", "card_not_supported", "pickup_card")  # fmt: skip
SUSPEND_AFTER_DAYS = 30
GRACE_AFTER_DAYS = 14
KEY_ACCOUNT_MRR_USD = 1000.0
MAX_FAILED_ATTEMPTS_BEFORE_UPDATE = 3
RETRY_SPACING_DAYS = 3
GRACE_PERIOD_DAYS = 7
RECOVERY_RULES = (
    (
        f"suspend_service: the invoice is uncollectible (automatic retries exhausted) or more than "
        f"{SUSPEND_AFTER_DAYS} days past due"
    ),
    (
        f"update_payment_method: the last failure is a hard decline ({', '.join(HARD_DECLINE_CODES[:3])}, ...) or "
        f"{MAX_FAILED_ATTEMPTS_BEFORE_UPDATE}+ failed attempts: retrying the same card will not work"
    ),
    (
        f"apply_grace_period: more than {GRACE_AFTER_DAYS} days past due, or a key account (current MRR >= "
        f"{KEY_ACCOUNT_MRR_USD:g} usd) with a soft decline: contact the customer and hold access for "
        f"{GRACE_PERIOD_DAYS} days rather than retrying automatically"
    ),
    (
        f"retry_payment: otherwise (a recent soft decline such as insufficient_funds or card_declined), "
        f"{RETRY_SPACING_DAYS} days after the last failure and not before tomorrow"
    ),
    "per customer, the most severe action over their invoices wins (suspend > update > grace > retry)",
    (
        "suspend_service for a customer whose subscription has already ended (is_paying_customer false) means: "
        "keep access closed and pursue or write off the debt"
    ),
)


@dataclass(frozen=True)
class FinanceResult:
    """Named reports plus the governed metric definitions behind them and notes for the reader."""

    parts: dict[str, Report]
    definitions: tuple[MetricDefinition, ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def reports(self) -> tuple[Report, ...]:
        return tuple(self.parts.values())

    def __getitem__(self, name: str) -> Report:
        return self.parts[name]


# ---- helpers -----------------------------------------------------------------------------------


def _no_progress(done: float, total: float, message: str) -> None:
    return None


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _month_end(day: dt.date) -> dt.date:
    nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return nxt - dt.timedelta(days=1)


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def resolve_range(settings: Settings, start: dt.date | None, end: dt.date | None, *, months: int = 12,
                  days: int | None = None) -> tuple[dt.date, dt.date]:  # fmt: skip
    """`start`/`end` with defaults: end = the last day of data (`fct_revenue_recognition_daily`,
    the finance marts' common spine), start = `months` whole months (or `days` days) before it."""
    if end is None:
        hi = fetch(settings, "select max(date_day) as hi from marts.fct_revenue_recognition_daily",
                   ("marts.fct_revenue_recognition_daily",)).rows()[0]["hi"]  # fmt: skip
        if hi is None:
            raise ReportError("the finance marts are empty: run the pipeline (psz demo) first")
        end = hi
    if start is None:
        start = (
            end - dt.timedelta(days=days - 1) if days else _add_months(_month(end), -(months - 1))
        )
    check_range(start, end)
    return start, end


def check_range(start: dt.date, end: dt.date, *, max_days: int | None = None) -> None:
    """Refuse inverted or absurd ranges with a message that says how to fix them."""
    if start > end:
        raise ReportError(f"start {start} is after end {end}: swap them")
    if end.year - start.year > MAX_RANGE_YEARS:
        raise ReportError(
            f"the range {start} to {end} spans more than {MAX_RANGE_YEARS} years: narrow it"
        )
    if max_days is not None and (end - start).days + 1 > max_days:
        raise ReportError(f"the range {start} to {end} has {(end - start).days + 1} days; at day grain ask for at "
                          f"most {max_days} days, or use grain='month'")  # fmt: skip


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise ReportError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")


def _tables(sql: str, dialect: str) -> tuple[str, ...]:
    """schema.table of every warehouse table a statement reads."""
    try:
        tree = sqlglot.parse_one(sql, dialect=dialect)
    except sqlglot.errors.ParseError:
        return ()
    names = [f"{t.db}.{t.name}" for t in tree.find_all(exp.Table) if t.db]
    return tuple(dict.fromkeys(names))


def _governed(settings: Settings, names: Sequence[str], *, grain: str = "month", start: dt.date | None = None,
              end: dt.date | None = None, dimensions: Sequence[str] = ()) -> tuple[Report, tuple[MetricDefinition, ...]]:  # fmt: skip
    """A governed metric query as a `Report` (plus the metric definitions)."""
    result = metric_layer.query(list(names), grain=grain, dimensions=dimensions, start=start, end=end,
                                order=["period", *dimensions], settings=settings)  # fmt: skip
    dialect = "bigquery" if settings.warehouse_kind == "bigquery" else "duckdb"
    report = Report(data=result.data, sql=result.sql.strip(), tables=_tables(result.sql, dialect),
                    freshness=result.freshness)  # fmt: skip
    return report, result.metrics


def _closest(value: str, valid: Sequence[str], what: str) -> ReportError:
    close = closest(value, valid, n=5, fallback=10)
    return ReportError(f"unknown {what} {value!r}; closest valid values: {', '.join(close)}")


def check_customer(settings: Settings, customer_id: str) -> None:
    """Raise a `ReportError` naming the closest known ids when `customer_id` is unknown."""
    known = fetch(settings, "select customer_id from marts.dim_customers where customer_id = ?",
                  ("marts.dim_customers",), [customer_id])  # fmt: skip
    if known.data.height:
        return
    ids = fetch(
        settings,
        "select customer_id, customer_name from marts.dim_customers",
        ("marts.dim_customers",),
    )
    by_name = {
        str(r["customer_name"]).lower(): r["customer_id"] for r in ids.rows() if r["customer_name"]
    }
    if customer_id.lower() in by_name:
        raise ReportError(
            f"{customer_id!r} is a customer name; pass its customer_id {by_name[customer_id.lower()]!r}"
        )
    raise _closest(customer_id, [r["customer_id"] for r in ids.rows()], "customer_id")


def customer_ids(settings: Settings) -> list[str]:
    """Every customer id (for argument completion)."""
    return fetch(settings, "select customer_id from marts.dim_customers order by customer_id",
                 ("marts.dim_customers",)).data.get_column("customer_id").to_list()  # fmt: skip


def segments(settings: Settings) -> list[str]:
    rep = fetch(settings, "select distinct segment from marts.dim_customers where segment is not null order by 1",
                ("marts.dim_customers",))  # fmt: skip
    return rep.data.get_column("segment").to_list()


def _check_segment(settings: Settings, segment: str) -> None:
    valid = segments(settings)
    if segment not in valid:
        raise _closest(segment, valid, "segment")


def _months_available(
    settings: Settings, table: str, column: str = "month_start"
) -> tuple[Any, Any]:
    row = fetch(
        settings, f"select min({column}) as lo, max({column}) as hi from {table}", (table,)
    ).rows()[0]
    return row["lo"], row["hi"]


# ---- MRR ---------------------------------------------------------------------------------------


def mrr_calculation(
    settings: Settings, date: dt.date | None = None, breakdown: Breakdown | None = None
) -> FinanceResult:
    """MRR, ARR, paying customers, ARPA and the MRR movements of the month containing `date`
    (default: the latest month), from the governed metrics, with the month's MRR bridge
    (starting MRR, net new MRR, customer counts, churn rates) from `fct_mrr_summary_monthly`,
    optionally broken down by segment or plan tier."""
    if breakdown is not None and breakdown not in ("segment", "plan_tier"):
        raise ReportError(f"unknown breakdown {breakdown!r}; valid: segment, plan_tier")
    bridge = fetch(settings, """
        select month_start, starting_mrr, new_mrr, expansion_mrr, contraction_mrr, churned_mrr, reactivation_mrr,
               ending_mrr, net_new_mrr, arr, paying_customers_start, paying_customers_end, new_customers,
               churned_customers, reactivated_customers, expansion_customers, contraction_customers, arpa,
               logo_churn_rate, gross_mrr_churn_rate, net_mrr_churn_rate, nrr_12m, grr_12m
        from marts.fct_mrr_summary_monthly
        where month_start = coalesce(?, (select max(month_start) from marts.fct_mrr_summary_monthly))
    """, ("marts.fct_mrr_summary_monthly",), [_month(date) if date else None])  # fmt: skip
    if bridge.data.height == 0:
        lo, hi = _months_available(settings, "marts.fct_mrr_summary_monthly")
        raise ReportError(
            f"no MRR for the month of {date}: the data covers {lo} to {hi}; pick a date in that range"
        )
    month = bridge.data.get_column("month_start")[0]
    totals, defs = _governed(settings, MRR_METRICS, start=month, end=_month_end(month))
    parts = {"bridge": bridge, "totals": totals}
    if breakdown:
        governed, _ = _governed(
            settings, MRR_METRICS, start=month, end=_month_end(month), dimensions=[breakdown]
        )
        start_sql = fetch(settings, f"""
            select {breakdown}, sum(start_mrr) as starting_mrr, sum(net_change_mrr) as net_new_mrr,
                   sum(is_paying_start) as paying_customers_start
            from marts.fct_customer_mrr_monthly where month_start = ? group by 1
        """, ("marts.fct_customer_mrr_monthly",), [month])  # fmt: skip
        joined = (governed.data.drop("period")
                  .join(start_sql.data, on=breakdown, how="full", coalesce=True)
                  .sort("mrr", descending=True, nulls_last=True))  # fmt: skip
        parts["breakdown"] = Report(joined, governed.sql, governed.tables, governed.freshness)
        parts["breakdown_start"] = start_sql
    return FinanceResult(parts, defs, meta={"month": month, "breakdown": breakdown})


# ---- revenue recognition -----------------------------------------------------------------------


def revenue_recognition(settings: Settings, start: dt.date | None = None, end: dt.date | None = None,
                        grain: Literal["month", "day"] = "month") -> FinanceResult:  # fmt: skip
    """Invoiced, recognised and deferred revenue (usd) per month (`fct_revenue_monthly`, with the
    deferred balance at the opening and close of each month and whether the month is closed) or
    per day (governed metrics over `fct_revenue_recognition_daily`), with totals for the range."""
    start, end = resolve_range(settings, start, end, days=30 if grain == "day" else None)
    check_range(start, end, max_days=MAX_DAILY_DAYS if grain == "day" else None)
    if grain == "month":
        rows = fetch(settings, """
            select month_start, invoiced_gross_usd, refunds_usd, invoiced_usd, recognized_usd,
                   deferred_opening_usd, deferred_closing_usd, deferred_change_usd, days_loaded, is_closed_month
            from marts.fct_revenue_monthly where month_start between ? and ? order by month_start
        """, ("marts.fct_revenue_monthly",), [_month(start), end])  # fmt: skip
        defs: tuple[MetricDefinition, ...] = ()
        if rows.data.height == 0:
            lo, hi = _months_available(settings, "marts.fct_revenue_monthly")
            raise ReportError(f"no revenue between {start} and {end}: the data covers {lo} to {hi}")
    elif grain == "day":
        rows, defs = _governed(settings, ("invoiced_revenue", "recognized_revenue", "deferred_revenue"),
                               grain="day", start=start, end=end)  # fmt: skip
        if rows.data.height == 0:
            lo, hi = _months_available(settings, "marts.fct_revenue_recognition_daily", "date_day")
            raise ReportError(f"no revenue between {start} and {end}: the data covers {lo} to {hi}")
    else:
        raise ReportError(f"unknown grain {grain!r}; valid: month, day")
    totals = fetch(settings, """
        with m as (
            select * from marts.fct_revenue_monthly where month_start between ? and ?
        )
        select sum(invoiced_gross_usd) as invoiced_gross_usd, sum(refunds_usd) as refunds_usd,
               sum(invoiced_usd) as invoiced_usd, sum(recognized_usd) as recognized_usd,
               (select deferred_opening_usd from m order by month_start limit 1) as deferred_opening_usd,
               (select deferred_closing_usd from m order by month_start desc limit 1) as deferred_closing_usd,
               sum(deferred_change_usd) as deferred_change_usd,
               count(*) as months, sum(case when is_closed_month then 0 else 1 end) as open_months
        from m
    """, ("marts.fct_revenue_monthly",), [_month(start), _month(end)])  # fmt: skip
    notes = (("totals cover whole calendar months from the month of start to the month of end; per month, "
             "recognized + deferred change = invoiced (ASC 606 style, straight-line per day over each line's "
             "service period)"),)  # fmt: skip
    return FinanceResult({"rows": rows, "totals": totals}, defs, meta={"grain": grain, "start": start, "end": end},
                         notes=notes)  # fmt: skip


# ---- revenue report ----------------------------------------------------------------------------


def revenue_report(settings: Settings, kind: RevenueKind, start: dt.date | None = None, end: dt.date | None = None, *,
                   customer_id: str | None = None, limit: int = 100) -> FinanceResult:  # fmt: skip
    """One revenue view over `start`..`end` (months overlapping the range):
    - summary: per month recognised / invoiced revenue, refunds, ending and net new MRR with its
      movements, usage (metered) charges, plus totals;
    - subscription_changes: customer-months with an MRR movement (new, expansion, contraction,
      churn, reactivation), biggest absolute change first;
    - usage_charges: metered charges per customer and month (quantity, amount, usd);
    - invoices: invoices by status (count, totals, paid, outstanding, failed / recovered) and the
      invoice list, newest first.
    `customer_id` narrows subscription_changes, usage_charges and invoices to one customer."""
    start, end = resolve_range(settings, start, end)
    _check_limit(limit)
    if customer_id is not None:
        if kind == "summary":
            raise ReportError("customer_id applies to kinds subscription_changes, usage_charges and invoices, "
                              "not summary")  # fmt: skip
        check_customer(settings, customer_id)
    m0, m1 = _month(start), _month(end)
    cust = "and x.customer_id = ?" if customer_id else ""
    cparams = [customer_id] if customer_id else []
    if kind == "summary":
        rows = fetch(settings, """
            select s.month_start, r.recognized_usd, r.invoiced_usd, r.refunds_usd, s.ending_mrr, s.arr,
                   s.net_new_mrr, s.new_mrr, s.expansion_mrr, s.contraction_mrr, s.churned_mrr, s.reactivation_mrr,
                   s.paying_customers_end, coalesce(u.usage_charges_usd, 0) as usage_charges_usd,
                   r.is_closed_month
            from marts.fct_mrr_summary_monthly s
            left join marts.fct_revenue_monthly r on r.month_start = s.month_start
            left join (select month_start, sum(amount_usd) as usage_charges_usd
                       from marts.fct_usage_charges_monthly group by 1) u on u.month_start = s.month_start
            where s.month_start between ? and ?
            order by s.month_start
        """, ("marts.fct_mrr_summary_monthly", "marts.fct_revenue_monthly", "marts.fct_usage_charges_monthly"),
            [m0, m1])  # fmt: skip
        totals = fetch(settings, """
            select sum(r.recognized_usd) as recognized_usd, sum(r.invoiced_usd) as invoiced_usd,
                   sum(r.refunds_usd) as refunds_usd, sum(s.net_new_mrr) as net_new_mrr, sum(s.new_mrr) as new_mrr,
                   sum(s.expansion_mrr) as expansion_mrr, sum(s.contraction_mrr) as contraction_mrr,
                   sum(s.churned_mrr) as churned_mrr, sum(s.reactivation_mrr) as reactivation_mrr,
                   (select sum(amount_usd) from marts.fct_usage_charges_monthly
                    where month_start between ? and ?) as usage_charges_usd,
                   count(*) as months
            from marts.fct_mrr_summary_monthly s
            left join marts.fct_revenue_monthly r on r.month_start = s.month_start
            where s.month_start between ? and ?
        """, ("marts.fct_mrr_summary_monthly", "marts.fct_revenue_monthly", "marts.fct_usage_charges_monthly"),
            [m0, m1, m0, m1])  # fmt: skip
        return FinanceResult(
            {"rows": rows, "totals": totals},
            meta={"kind": kind, "total": rows.data.height, "start": start, "end": end},
        )
    if kind == "subscription_changes":
        rows = fetch(settings, f"""
            select x.month_start, x.customer_id, c.customer_name, x.segment, x.plan_tier, x.movement_type,
                   x.start_mrr, x.end_mrr, x.net_change_mrr, x.seats, count(*) over () as total_rows_
            from marts.fct_customer_mrr_monthly x
            left join marts.dim_customers c on c.customer_id = x.customer_id
            where x.month_start between ? and ? and x.movement_type in ({', '.join('?' * len(MOVEMENTS))}) {cust}
            order by abs(x.net_change_mrr) desc, x.month_start, x.customer_id
            limit {int(limit)}
        """, ("marts.fct_customer_mrr_monthly", "marts.dim_customers"), [m0, m1, *MOVEMENTS, *cparams])  # fmt: skip
        totals = fetch(settings, f"""
            select x.movement_type, count(*) as changes, count(distinct x.customer_id) as customers,
                   sum(x.net_change_mrr) as net_change_mrr
            from marts.fct_customer_mrr_monthly x
            where x.month_start between ? and ? and x.movement_type in ({', '.join('?' * len(MOVEMENTS))}) {cust}
            group by 1 order by 1
        """, ("marts.fct_customer_mrr_monthly",), [m0, m1, *MOVEMENTS, *cparams])  # fmt: skip
    elif kind == "usage_charges":
        rows = fetch(settings, f"""
            select x.month_start, x.customer_id, c.customer_name, x.currency, x.quantity, x.amount, x.amount_usd,
                   x.invoices, x.usage_period_start, x.usage_period_end, count(*) over () as total_rows_
            from marts.fct_usage_charges_monthly x
            left join marts.dim_customers c on c.customer_id = x.customer_id
            where x.month_start between ? and ? {cust}
            order by x.amount_usd desc, x.month_start, x.customer_id
            limit {int(limit)}
        """, ("marts.fct_usage_charges_monthly", "marts.dim_customers"), [m0, m1, *cparams])  # fmt: skip
        totals = fetch(settings, f"""
            select count(distinct x.customer_id) as customers, sum(x.quantity) as quantity,
                   sum(x.amount_usd) as amount_usd, count(*) as customer_months
            from marts.fct_usage_charges_monthly x where x.month_start between ? and ? {cust}
        """, ("marts.fct_usage_charges_monthly",), [m0, m1, *cparams])  # fmt: skip
    elif kind == "invoices":
        rows = fetch(settings, f"""
            select x.invoice_id, x.invoice_number, x.customer_id, c.customer_name, x.status, x.billing_reason,
                   x.invoice_date, x.currency, x.total, x.total_usd, x.amount_paid_usd, x.amount_remaining_usd,
                   x.has_failed_payment, x.is_recovered, x.failed_attempts, x.days_to_pay, count(*) over () as total_rows_
            from marts.fct_invoices x
            left join marts.dim_customers c on c.customer_id = x.customer_id
            where x.invoice_date between ? and ? {cust}
            order by x.invoice_date desc, x.invoice_id
            limit {int(limit)}
        """, ("marts.fct_invoices", "marts.dim_customers"), [start, end, *cparams])  # fmt: skip
        totals = fetch(settings, f"""
            select x.status, count(*) as invoices, sum(x.total_usd) as total_usd,
                   sum(x.amount_paid_usd) as amount_paid_usd, sum(x.amount_remaining_usd) as amount_remaining_usd,
                   sum(case when x.has_failed_payment then 1 else 0 end) as with_failed_payment,
                   sum(case when x.is_recovered then 1 else 0 end) as recovered, avg(x.days_to_pay) as avg_days_to_pay
            from marts.fct_invoices x where x.invoice_date between ? and ? {cust}
            group by 1 order by 1
        """, ("marts.fct_invoices",), [start, end, *cparams])  # fmt: skip
    else:
        raise ReportError(
            f"unknown kind {kind!r}; valid: summary, subscription_changes, usage_charges, invoices"
        )
    total = int(rows.data.get_column("total_rows_")[0]) if rows.data.height else 0
    return FinanceResult({"rows": Report(rows.data.drop("total_rows_"), rows.sql, rows.tables, rows.freshness),
                          "totals": totals}, meta={"kind": kind, "total": total, "start": start, "end": end})  # fmt: skip


# ---- forecast and scenarios --------------------------------------------------------------------


def revenue_forecast(settings: Settings, horizon_months: int, scenarios: Sequence[str] = SCENARIOS,
                     series: str = "mrr", history_months: int = 24,
                     progress: Progress = _no_progress) -> FinanceResult:  # fmt: skip
    """The pipeline's statistical forecast of `series` (mrr or recognized_revenue,
    `analytics.forecasts`) with its backtest quality (`analytics.forecast_backtests`), the MRR
    scenarios (`analytics.revenue_scenarios`: base / optimistic / pessimistic) with the
    assumptions behind them (re-estimated from the MRR bridge by the pipeline's own rule), and the
    recent history for a chart."""
    if series not in FORECAST_SERIES:
        raise _closest(series, FORECAST_SERIES, "series")
    bad = [s for s in scenarios if s not in SCENARIOS]
    if bad:
        raise ReportError(f"unknown scenario(s) {bad}; valid: {', '.join(SCENARIOS)}")
    if not 1 <= horizon_months <= 36:
        raise ReportError(f"horizon_months must be between 1 and 36, got {horizon_months}")
    progress(0, 5, "reading the forecast")
    forecast = fetch(settings, """
        select ds, yhat, yhat_lower, yhat_upper, method, warning, count(*) over () as available
        from analytics.forecasts where series = ? and freq = 'MS' order by ds limit ?
    """, ("analytics.forecasts",), [series, horizon_months])  # fmt: skip
    progress(1, 5, "reading the backtest")
    backtest = fetch(settings, """
        select method, is_chosen, horizon, mae, smape, mase, coverage, relative_mae
        from analytics.forecast_backtests where series = ? and freq = 'MS'
        order by is_chosen desc, mae
    """, ("analytics.forecast_backtests",), [series])  # fmt: skip
    progress(2, 5, "reading the scenarios")
    cols = ", ".join(s for s in SCENARIOS if s in scenarios)
    scen = fetch(settings, f"""
        select ds{', ' + cols if cols else ''}, count(*) over () as available
        from analytics.revenue_scenarios order by ds limit ?
    """, ("analytics.revenue_scenarios",), [horizon_months])  # fmt: skip
    progress(3, 5, "reading the history")
    hist_sql = ("select month_start as ds, ending_mrr as y from marts.fct_mrr_summary_monthly" if series == "mrr"
                else "select month_start as ds, recognized_usd as y from marts.fct_revenue_monthly")  # fmt: skip
    table = "marts.fct_mrr_summary_monthly" if series == "mrr" else "marts.fct_revenue_monthly"
    history = fetch(settings, f"select * from ({hist_sql} order by ds desc limit ?) h order by ds", (table,),
                    [history_months])  # fmt: skip
    progress(4, 5, "estimating the scenario assumptions")
    bridge = fetch(settings, """
        select month_start, starting_mrr, new_mrr, expansion_mrr, reactivation_mrr, contraction_mrr, churned_mrr
        from marts.fct_mrr_summary_monthly order by month_start
    """, ("marts.fct_mrr_summary_monthly",))  # fmt: skip
    assumptions = assumptions_from_mrr_bridge(bridge.data) if bridge.data.height else {}
    progress(5, 5, "done")
    f_avail = int(forecast.data.get_column("available")[0]) if forecast.data.height else 0
    s_avail = int(scen.data.get_column("available")[0]) if scen.data.height else 0
    notes = []
    if f_avail < horizon_months:
        notes.append(f"the statistical forecast covers {f_avail} months (the pipeline's horizon); asked for "
                     f"{horizon_months}: only {f_avail} are returned")  # fmt: skip
    if scenarios and s_avail < horizon_months:
        notes.append(
            f"the scenarios cover {s_avail} months; asked for {horizon_months}: only {s_avail} are returned"
        )
    if series != "mrr" and scenarios:
        notes.append(
            "scenarios are MRR projections (the business's run rate), not recognised revenue"
        )
    parts = {
        "forecast": Report(
            forecast.data.drop("available"), forecast.sql, forecast.tables, forecast.freshness
        ),
        "backtest": backtest,
        "scenarios": Report(scen.data.drop("available"), scen.sql, scen.tables, scen.freshness),
        "history": history,
        "bridge": bridge,
    }
    return FinanceResult(parts, meta={"series": series, "assumptions": assumptions, "forecast_available": f_avail,
                                      "scenarios_available": s_avail}, notes=tuple(notes))  # fmt: skip


def cash_flow(settings: Settings, months: int) -> FinanceResult:
    """The base case's monthly cash-flow projection (`analytics.cash_flow_projection`) for the
    first `months` months, with totals (net cash flow, ending cash, lowest cash and the first
    month cash would go negative) and the assumptions the pipeline used."""
    if not 1 <= months <= 60:
        raise ReportError(f"months must be between 1 and 60, got {months}")
    rows = fetch(settings, """
        select ds, mrr, collections, prepayments, costs, net_cash_flow, ending_cash, count(*) over () as available
        from analytics.cash_flow_projection order by ds limit ?
    """, ("analytics.cash_flow_projection",), [months])  # fmt: skip
    if rows.data.height == 0:
        raise ReportError(
            "no cash-flow projection yet: run the pipeline (psz demo) to build analytics.cash_flow_projection"
        )
    totals = fetch(settings, """
        with p as (select * from analytics.cash_flow_projection order by ds limit ?)
        select count(*) as months, sum(collections) as collections, sum(prepayments) as prepayments,
               sum(costs) as costs, sum(net_cash_flow) as net_cash_flow,
               (select ending_cash from p order by ds desc limit 1) as ending_cash,
               min(ending_cash) as lowest_ending_cash,
               min(case when ending_cash < 0 then ds end) as first_negative_month
        from p
    """, ("analytics.cash_flow_projection",), [months])  # fmt: skip
    available = int(rows.data.get_column("available")[0])
    defaults = {k: v.default for k, v in inspect.signature(cash_flow_projection).parameters.items()
                if v.default is not inspect.Parameter.empty and isinstance(v.default, int | float | str)}  # fmt: skip
    notes = [("collections = MRR x collection_rate (failed payments and bad debt); costs = straight-line trend of "
             "the last closed months' cost of revenue + opex; no taxes, financing or payment terms")]  # fmt: skip
    if available < months:
        notes.append(
            f"the projection covers {available} months; asked for {months}: only {available} are returned"
        )
    return FinanceResult({"rows": Report(rows.data.drop("available"), rows.sql, rows.tables, rows.freshness),
                          "totals": totals}, meta={"assumptions": defaults, "available": available},
                         notes=tuple(notes))  # fmt: skip


# ---- LTV ---------------------------------------------------------------------------------------


def ltv_analysis(settings: Settings, segment: str | None = None, months: int = 12) -> FinanceResult:
    """Unit economics for the last `months` months: LTV, CAC, payback and gross margin from the
    governed metrics, joined with their inputs and flags from `fct_unit_economics_monthly` (ARPA,
    the churn used and whether it was floored, whether gross margin fell back to the default,
    LTV:CAC); and LTV per segment for the latest month (segment ARPA x company gross margin /
    segment trailing-3-month logo churn, floored as in dbt). CAC is not attributed to segments."""
    if not 1 <= months <= 120:
        raise ReportError(f"months must be between 1 and 120, got {months}")
    if segment is not None:
        _check_segment(settings, segment)
    mart = fetch(settings, """
        select * from (
            select month_start, paying_customers_end, new_customers, churned_customers, ending_mrr, arpa,
                   new_customer_arpa, gross_margin_pct_actual, is_gross_margin_fallback, logo_churn_rate,
                   logo_churn_rate_3m, ltv_churn_rate, is_churn_floored, paid_cac_usd, sales_marketing_spend_usd,
                   ltv_to_cac, is_closed_month
            from marts.fct_unit_economics_monthly order by month_start desc limit ?
        ) u order by month_start
    """, ("marts.fct_unit_economics_monthly",), [months])  # fmt: skip
    if mart.data.height == 0:
        raise ReportError("no unit economics yet: run the pipeline (psz demo) to build the marts")
    first, last = mart.data.get_column("month_start")[0], mart.data.get_column("month_start")[-1]
    governed, defs = _governed(settings, ("ltv", "cac", "payback_months", "gross_margin"), start=first,
                               end=_month_end(last))  # fmt: skip
    company = mart.data.join(
        governed.data.rename({"period": "month_start"}), on="month_start", how="left"
    )
    seg_filter = "and r.segment = ?" if segment else ""
    by_segment = fetch(settings, f"""
        with seg as (
            select segment, month_start, sum(end_mrr) as ending_mrr, sum(is_paying_end) as paying_customers_end,
                   sum(is_paying_start) as paying_customers_start,
                   sum(case when movement_type = 'churn' then 1 else 0 end) as churned_customers
            from marts.fct_customer_mrr_monthly group by 1, 2
        ),
        rolled as (
            select *, sum(churned_customers) over w as churned_3m, sum(paying_customers_start) over w as start_3m
            from seg
            window w as (partition by segment order by month_start rows between 2 preceding and current row)
        ),
        rates as (
            select r.*, r.ending_mrr / nullif(r.paying_customers_end, 0) as arpa,
                   r.churned_3m * 1.0 / nullif(r.start_3m, 0) as logo_churn_rate_3m
            from rolled r where r.month_start = ? {seg_filter}
        )
        select r.segment, r.month_start, r.paying_customers_end, r.ending_mrr, r.arpa, r.churned_3m,
               r.start_3m as paying_customers_start_3m, r.logo_churn_rate_3m,
               case when r.logo_churn_rate_3m is null or r.logo_churn_rate_3m < {LTV_MIN_MONTHLY_CHURN}
                    then {LTV_MIN_MONTHLY_CHURN} else r.logo_churn_rate_3m end as ltv_churn_rate,
               r.logo_churn_rate_3m is null or r.logo_churn_rate_3m < {LTV_MIN_MONTHLY_CHURN} as is_churn_floored,
               u.gross_margin_pct,
               r.arpa * u.gross_margin_pct / (case when r.logo_churn_rate_3m is null
                    or r.logo_churn_rate_3m < {LTV_MIN_MONTHLY_CHURN} then {LTV_MIN_MONTHLY_CHURN}
                    else r.logo_churn_rate_3m end) as ltv_usd
        from rates r join marts.fct_unit_economics_monthly u on u.month_start = r.month_start
        order by ltv_usd desc
    """, ("marts.fct_customer_mrr_monthly", "marts.fct_unit_economics_monthly"),
        [last, *([segment] if segment else [])])  # fmt: skip
    notes = ((f"LTV = ARPA x gross margin / monthly logo churn (trailing 3 months pooled, floored at "
             f"{LTV_MIN_MONTHLY_CHURN:g}); CAC = sales & marketing spend / new customers; payback = CAC / "
             "(new-customer ARPA x gross margin)"),
             ("per segment: the segment's ARPA and churn with the company gross margin; acquisition spend is "
             "not attributed to segments, so segment CAC is not given"))  # fmt: skip
    parts = {
        "company": Report(company, governed.sql, governed.tables, governed.freshness),
        "mart": mart,
        "segments": by_segment,
    }
    return FinanceResult(parts, defs, meta={"month": last, "segment": segment}, notes=notes)


# ---- payment recovery --------------------------------------------------------------------------

_STATUS_FILTER = {
    "unpaid": "recovery_status in ('open', 'uncollectible')",
    "open": "recovery_status = 'open'",
    "uncollectible": "recovery_status = 'uncollectible'",
    "recovered": "recovery_status = 'recovered'",
    "all": "true",
}


def _recovery_cte(status: str, customer: bool) -> str:
    hard = ", ".join(f"'{c}'" for c in HARD_DECLINE_CODES)
    return f"""
        with as_of as (
            select max(d) as as_of from (
                select max(invoice_date) as d from marts.fct_invoices
                union all select max(payment_date) as d from marts.fct_payments
            ) x
        ),
        last_failure as (
            select invoice_id, failure_code, payment_date,
                   row_number() over (partition by invoice_id order by created_at desc, attempt_number desc) as rn
            from marts.fct_payments where is_failed
        ),
        latest_mrr as (
            select customer_id, end_mrr from marts.fct_customer_mrr_monthly
            where month_start = (select max(month_start) from marts.fct_customer_mrr_monthly)
        ),
        inv as (
            select i.invoice_id, i.customer_id, i.invoice_date, i.amount_remaining_usd, i.amount_paid_usd,
                   i.failed_attempts, lf.failure_code as last_failure_code, lf.payment_date as last_failed_on,
                   a.as_of, coalesce(m.end_mrr, 0) as current_mrr,
                   case when i.is_paid then 'recovered' when i.is_uncollectible or i.status = 'uncollectible'
                        then 'uncollectible' else 'open' end as recovery_status,
                   case when i.is_paid then null
                        else date_diff('day', cast(coalesce(i.first_failed_at, i.finalized_at) as date), a.as_of)
                   end as days_past_due
            from marts.fct_invoices i
            cross join as_of a
            left join last_failure lf on lf.invoice_id = i.invoice_id and lf.rn = 1
            left join latest_mrr m on m.customer_id = i.customer_id
            where i.has_failed_payment and i.status <> 'void'
        ),
        actions as (
            select inv.*,
                   case when recovery_status = 'recovered' then null
                        when recovery_status = 'uncollectible' or days_past_due > {SUSPEND_AFTER_DAYS}
                            then 'suspend_service'
                        when last_failure_code in ({hard}) or failed_attempts >= {MAX_FAILED_ATTEMPTS_BEFORE_UPDATE}
                            then 'update_payment_method'
                        when days_past_due > {GRACE_AFTER_DAYS} or current_mrr >= {KEY_ACCOUNT_MRR_USD}
                            then 'apply_grace_period'
                        else 'retry_payment' end as action
            from inv
            where {_STATUS_FILTER[status]} {"and customer_id = ?" if customer else ""}
        ),
        ranked as (
            select actions.*,
                   case action when 'suspend_service' then 4 when 'update_payment_method' then 3
                        when 'apply_grace_period' then 2 when 'retry_payment' then 1 else 0 end as severity,
                   row_number() over (partition by customer_id order by invoice_date desc, invoice_id desc) as recent
            from actions
        ),
        per_customer as (
            select customer_id,
                   count(*) as invoices,
                   sum(case when recovery_status <> 'recovered' then amount_remaining_usd else 0 end)
                       as amount_at_risk_usd,
                   sum(case when recovery_status = 'recovered' then amount_paid_usd else 0 end) as amount_recovered_usd,
                   sum(failed_attempts) as failed_attempts,
                   max(days_past_due) as max_days_past_due,
                   max(severity) as severity,
                   max(case when recent = 1 then last_failure_code end) as last_failure_code,
                   max(last_failed_on) as last_failed_on,
                   max(invoice_date) as latest_invoice_date,
                   sum(case when recovery_status = 'uncollectible' then 1 else 0 end) as uncollectible_invoices,
                   sum(case when recovery_status = 'open' then 1 else 0 end) as open_invoices,
                   max(current_mrr) as current_mrr,
                   max(as_of) as as_of
            from ranked group by 1
        ),
        result as (
            select p.*,
                   case p.severity when 4 then 'suspend_service' when 3 then 'update_payment_method'
                        when 2 then 'apply_grace_period' when 1 then 'retry_payment' end as action,
                   case p.severity
                        when 1 then greatest(cast(p.last_failed_on + interval {RETRY_SPACING_DAYS} day as date),
                                             cast(p.as_of + interval 1 day as date))
                        when 2 then cast(p.as_of + interval {GRACE_PERIOD_DAYS} day as date)
                        when 0 then null else p.as_of end as schedule,
                   case when p.uncollectible_invoices > 0 then 'failed' when p.open_invoices > 0 then 'pending'
                        else 'success' end as result
            from per_customer p
        )"""


def payment_recovery(settings: Settings, status: RecoveryStatus = "unpaid", customer_id: str | None = None,
                     limit: int = 100) -> FinanceResult:  # fmt: skip
    """Customers with failed payments and the recovery action recommended for each (nothing is
    charged or sent: read-only), by `RECOVERY_RULES`, with the amount at risk. `status` picks the
    invoices: unpaid (open + uncollectible, default), open (still in automatic retries),
    uncollectible (retries exhausted), recovered (paid after a failure) or all."""
    if status not in _STATUS_FILTER:
        raise ReportError(f"unknown status {status!r}; valid: {', '.join(_STATUS_FILTER)}")
    _check_limit(limit)
    if customer_id is not None:
        check_customer(settings, customer_id)
    cte = _recovery_cte(status, customer_id is not None)
    params = [customer_id] if customer_id else []
    tables = (
        "marts.fct_invoices",
        "marts.fct_payments",
        "marts.fct_customer_mrr_monthly",
        "marts.dim_customers",
    )
    rows = fetch(settings, cte + f"""
        select r.customer_id, c.customer_name, c.segment, r.action, r.schedule, r.result, r.amount_at_risk_usd,
               r.amount_recovered_usd, r.invoices, r.open_invoices, r.uncollectible_invoices, r.failed_attempts,
               r.max_days_past_due, r.last_failure_code, r.last_failed_on, r.latest_invoice_date, r.current_mrr,
               r.current_mrr > 0 as is_paying_customer,
               r.as_of, count(*) over () as total_rows_
        from result r left join marts.dim_customers c on c.customer_id = r.customer_id
        order by r.severity desc, r.amount_at_risk_usd desc, r.amount_recovered_usd desc, r.customer_id
        limit {int(limit)}
    """, tables, params)  # fmt: skip
    totals = fetch(settings, cte + """
        select count(*) as customers, sum(invoices) as invoices, sum(amount_at_risk_usd) as amount_at_risk_usd,
               sum(amount_recovered_usd) as amount_recovered_usd,
               sum(case when action = 'retry_payment' then 1 else 0 end) as retry_payment,
               sum(case when action = 'update_payment_method' then 1 else 0 end) as update_payment_method,
               sum(case when action = 'apply_grace_period' then 1 else 0 end) as apply_grace_period,
               sum(case when action = 'suspend_service' then 1 else 0 end) as suspend_service,
               sum(case when action = 'suspend_service' then amount_at_risk_usd else 0 end) as suspend_amount_usd,
               sum(current_mrr) as current_mrr_at_risk
        from result
    """, tables[:3], params)  # fmt: skip
    total = int(rows.data.get_column("total_rows_")[0]) if rows.data.height else 0
    return FinanceResult({"rows": Report(rows.data.drop("total_rows_"), rows.sql, rows.tables, rows.freshness),
                          "totals": totals}, meta={"status": status, "total": total},
                         notes=RECOVERY_RULES)  # fmt: skip


# ---- financial statements ----------------------------------------------------------------------


def financial_statements(settings: Settings, kind: StatementKind, start: dt.date | None = None,
                         end: dt.date | None = None,
                         progress: Progress = _no_progress) -> FinanceResult:  # fmt: skip
    """One statement over the months overlapping `start`..`end`:
    - pnl: the monthly P&L (revenue, cost of revenue, gross profit, opex by department, operating
      income and margins) with range totals;
    - budget_variance: budget vs actual per department and month, with per-department totals over
      the months that have actuals;
    - costs: cloud costs by service and category (share of total), cost per 1000 requests per
      service against the previous period of the same length, and cost of revenue allocated to
      customer segments by their share of API requests;
    - kpis: key financial metrics per month (governed MRR, ARR, NRR, GRR, paying customers, ARPA,
      logo churn, gross margin, LTV, CAC, payback; plus revenue, operating income, net burn,
      LTV:CAC, net new MRR and gross MRR churn from the marts)."""
    start, end = resolve_range(settings, start, end, months=3 if kind == "costs" else 12)
    m0, m1 = _month(start), _month(end)
    if kind == "pnl":
        rows = fetch(settings, """
            select month_start, revenue_usd, cost_of_revenue_usd, gross_profit_usd, gross_margin_pct,
                   opex_sales_marketing_usd, opex_research_development_usd, opex_general_admin_usd,
                   opex_customer_success_usd, opex_other_usd, total_opex_usd, operating_income_usd,
                   operating_margin_pct, is_missing_opex, is_closed_month
            from marts.fct_pnl_monthly where month_start between ? and ? order by month_start
        """, ("marts.fct_pnl_monthly",), [m0, m1])  # fmt: skip
        totals = fetch(settings, """
            select count(*) as months, sum(revenue_usd) as revenue_usd, sum(cost_of_revenue_usd) as cost_of_revenue_usd,
                   sum(gross_profit_usd) as gross_profit_usd,
                   sum(gross_profit_usd) / nullif(sum(revenue_usd), 0) as gross_margin_pct,
                   sum(total_opex_usd) as total_opex_usd, sum(operating_income_usd) as operating_income_usd,
                   sum(operating_income_usd) / nullif(sum(revenue_usd), 0) as operating_margin_pct,
                   sum(case when is_closed_month then 0 else 1 end) as open_months
            from marts.fct_pnl_monthly where month_start between ? and ?
        """, ("marts.fct_pnl_monthly",), [m0, m1])  # fmt: skip
        parts = {"rows": rows, "totals": totals}
        defs: tuple[MetricDefinition, ...] = ()
    elif kind == "budget_variance":
        rows = fetch(settings, """
            select month_start, department, budget_usd, actual_usd, variance_usd, variance_pct, actual_source,
                   actual_coverage, actual_through_date
            from marts.fct_budget_vs_actual_monthly where month_start between ? and ?
            order by month_start, department
        """, ("marts.fct_budget_vs_actual_monthly",), [m0, m1])  # fmt: skip
        totals = fetch(settings, """
            select * from (
            select department, sum(budget_usd) as budget_usd,
                   sum(case when actual_usd is not null then budget_usd end) as budget_with_actuals_usd,
                   sum(actual_usd) as actual_usd,
                   sum(actual_usd) - sum(case when actual_usd is not null then budget_usd end) as variance_usd,
                   (sum(actual_usd) - sum(case when actual_usd is not null then budget_usd end))
                       / nullif(sum(case when actual_usd is not null then budget_usd end), 0) as variance_pct,
                   count(actual_usd) as months_with_actuals, count(*) as months
            from marts.fct_budget_vs_actual_monthly where month_start between ? and ?
            group by 1
            ) t order by abs(coalesce(variance_usd, 0)) desc, department
        """, ("marts.fct_budget_vs_actual_monthly",), [m0, m1])  # fmt: skip
        parts, defs = {"rows": rows, "totals": totals}, ()
    elif kind == "costs":
        d0, d1 = start, end
        span = (end - start).days + 1
        p0, p1 = start - dt.timedelta(days=span), start - dt.timedelta(days=1)
        progress(0, 3, "costs by service and category")
        rows = fetch(settings, """
            select service, category, provider, bool_or(is_cost_of_revenue) as is_cost_of_revenue,
                   sum(cost_usd) as cost_usd, sum(cost_usd) / sum(sum(cost_usd)) over () as share_of_total
            from marts.fct_costs_daily where cost_date between ? and ?
            group by 1, 2, 3 order by cost_usd desc, 1, 2
        """, ("marts.fct_costs_daily",), [d0, d1])  # fmt: skip
        progress(1, 3, "cost per request")
        per_request = fetch(settings, """
            with cur as (
                select service, sum(cost_usd) as cost_usd, sum(requests_served) as requests_served,
                       sum(cost_usd) * 1000.0 / nullif(sum(requests_served), 0) as cost_per_1000_requests_usd
                from marts.fct_cost_per_request_daily where date_day between ? and ? group by 1
            ),
            prev as (
                select service, sum(cost_usd) * 1000.0 / nullif(sum(requests_served), 0) as cost_per_1000_requests_usd
                from marts.fct_cost_per_request_daily where date_day between ? and ? group by 1
            )
            select cur.service, cur.cost_usd, cur.requests_served, cur.cost_per_1000_requests_usd,
                   prev.cost_per_1000_requests_usd as previous_cost_per_1000_requests_usd,
                   cur.cost_per_1000_requests_usd / nullif(prev.cost_per_1000_requests_usd, 0) - 1
                       as cost_per_1000_change_pct
            from cur left join prev on prev.service = cur.service
            order by cost_per_1000_change_pct desc nulls last, cur.cost_usd desc
        """, ("marts.fct_cost_per_request_daily",), [d0, d1, p0, p1])  # fmt: skip
        progress(2, 3, "allocation to segments")
        allocation = fetch(settings, """
            with req as (
                select coalesce(c.segment, 'unattributed') as segment, sum(a.requests) as requests
                from marts.fct_api_metrics_account_daily a
                left join marts.dim_customers c on c.customer_id = a.customer_id
                where a.date_day between ? and ? group by 1
            ),
            cost as (
                select sum(cost_usd) as cost_of_revenue_usd from marts.fct_costs_daily
                where cost_date between ? and ? and is_cost_of_revenue
            )
            select req.segment, req.requests, req.requests * 1.0 / sum(req.requests) over () as request_share,
                   cost.cost_of_revenue_usd * req.requests / sum(req.requests) over () as allocated_cost_usd
            from req cross join cost order by allocated_cost_usd desc
        """, ("marts.fct_api_metrics_account_daily", "marts.dim_customers", "marts.fct_costs_daily"),
            [d0, d1, d0, d1])  # fmt: skip
        totals = fetch(settings, """
            select sum(cost_usd) as cost_usd, sum(case when is_cost_of_revenue then cost_usd else 0 end)
                       as cost_of_revenue_usd, count(distinct service) as services,
                   min(cost_date) as first_day, max(cost_date) as last_day
            from marts.fct_costs_daily where cost_date between ? and ?
        """, ("marts.fct_costs_daily",), [d0, d1])  # fmt: skip
        progress(3, 3, "done")
        parts = {
            "rows": rows,
            "totals": totals,
            "cost_per_request": per_request,
            "allocation": allocation,
        }
        defs = ()
    elif kind == "kpis":
        groups = (("mrr", "arr", "paying_customers", "arpa", "logo_churn_rate"), ("nrr", "grr"),
                  ("gross_margin",), ("ltv", "cac", "payback_months"))  # fmt: skip
        frames, reports, all_defs = [], [], []
        for i, names in enumerate(groups):
            progress(i, len(groups) + 1, f"governed metrics {', '.join(names)}")
            rep, d = _governed(settings, names, start=m0, end=_month_end(m1))
            frames.append(rep.data)
            reports.append(rep)
            all_defs.extend(d)
        progress(len(groups), len(groups) + 1, "P&L and MRR bridge")
        mart = fetch(settings, """
            select s.month_start, p.revenue_usd, p.operating_income_usd, p.operating_margin_pct,
                   case when p.operating_income_usd < 0 then -p.operating_income_usd else 0 end as net_burn_usd,
                   s.net_new_mrr, s.gross_mrr_churn_rate, u.ltv_to_cac, p.is_closed_month
            from marts.fct_mrr_summary_monthly s
            left join marts.fct_pnl_monthly p on p.month_start = s.month_start
            left join marts.fct_unit_economics_monthly u on u.month_start = s.month_start
            where s.month_start between ? and ? order by s.month_start
        """, ("marts.fct_mrr_summary_monthly", "marts.fct_pnl_monthly", "marts.fct_unit_economics_monthly"),
            [m0, m1])  # fmt: skip
        joined = frames[0]
        for f in frames[1:]:
            joined = joined.join(f, on="period", how="full", coalesce=True)
        joined = (joined.rename({"period": "month_start"})
                  .join(mart.data, on="month_start", how="full", coalesce=True).sort("month_start"))  # fmt: skip
        progress(len(groups) + 1, len(groups) + 1, "done")
        first = reports[0]
        parts = {
            "rows": Report(joined, first.sql, first.tables, first.freshness),
            **{f"governed_{i}": r for i, r in enumerate(reports[1:], 1)},
            "mart": mart,
        }
        defs = tuple(all_defs)
    else:
        raise ReportError(f"unknown kind {kind!r}; valid: pnl, budget_variance, costs, kpis")
    if parts["rows"].data.height == 0:
        table = {"pnl": "marts.fct_pnl_monthly", "budget_variance": "marts.fct_budget_vs_actual_monthly",
                 "kpis": "marts.fct_mrr_summary_monthly"}.get(kind)  # fmt: skip
        if table:
            lo, hi = _months_available(settings, table)
        else:
            lo, hi = _months_available(settings, "marts.fct_costs_daily", "cost_date")
        raise ReportError(f"no {kind} data between {start} and {end}: the data covers {lo} to {hi}")
    notes = {
        "pnl": (
            "months with is_missing_opex have no operating expenses booked; open months are partial",
        ),
        "budget_variance": (
            (
                "variance = actual - budget over the months that have actuals (actual_coverage: full, "
                "partial or none per department)"
            ),
        ),
        "costs": (
            "cost per 1000 requests compares the range with the previous period of the same length",
            (
                "allocation: cost of revenue split across customer segments by their share of API requests "
                "(method: api_request_share)"
            ),
        ),
        "kpis": ("net_burn_usd = -operating income when it is negative, else 0",),
    }[kind]
    return FinanceResult(parts, defs, meta={"kind": kind, "start": start, "end": end}, notes=notes)
