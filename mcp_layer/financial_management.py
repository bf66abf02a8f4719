"""Financial management: MRR, revenue recognition and reports, forecasts and scenarios, cash
flow, LTV / CAC, payment recovery recommendations and financial statements.

Thin adapters over `analytics.reports.finance`: they validate and shape arguments, turn the
results into typed models with provenance and translate errors. Every number is computed in SQL
(or by the governed metrics) inside `analytics/`. All tools are read-only: nothing is charged,
credited or sent (the seed's `applyCredits` writes to Stripe and is not served).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import anyio.from_thread
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from analytics.reports import finance
from analytics.reports.finance import FinanceResult
from analytics.settings import Settings
from mcp_layer import charts
from mcp_layer.common import (
    READ_ONLY,
    Provenance,
    cell,
    definitions_of,
    json_rows,
    jsonable,
    tool_errors,
    with_chart,
)

StartDate = Annotated[dt.date | None, Field(description="First day of the range (YYYY-MM-DD), inclusive; default: "
                                                        "12 months before end")]  # fmt: skip
EndDate = Annotated[dt.date | None, Field(description="Last day of the range (YYYY-MM-DD), inclusive; default: the "
                                                      "last day of data")]  # fmt: skip
Limit = Annotated[int, Field(ge=1, le=finance.MAX_LIMIT, description="Maximum rows to return (the answer says how "
                                                                     "many exist)")]  # fmt: skip


# ---- output models -----------------------------------------------------------------------------


class MRRMovements(BaseModel):
    new: float = Field(description="MRR from customers paying for the first time")
    expansion: float = Field(description="MRR added by existing customers (upgrades, seats)")
    contraction: float = Field(description="MRR lost to downgrades (positive number)")
    churned: float = Field(description="MRR lost to customers who stopped paying (positive number)")
    reactivation: float = Field(description="MRR from returning customers who had paid before")
    net_new: float = Field(description="new + expansion + reactivation - contraction - churned")


class MRRCustomers(BaseModel):
    paying_start: int | None
    paying_end: int | None
    new: int | None
    churned: int | None
    reactivated: int | None
    expanded: int | None
    contracted: int | None


class MRRBreakdownRow(BaseModel):
    key: str | None = Field(description="The segment or plan tier")
    mrr: float | None
    arr: float | None
    paying_customers: int | None
    arpa: float | None
    starting_mrr: float | None
    new_mrr: float | None
    expansion_mrr: float | None
    contraction_mrr: float | None
    churned_mrr: float | None
    reactivation_mrr: float | None
    net_new_mrr: float | None


class MRRCalculation(BaseModel):
    month: str = Field(description="Month start of the month reported (YYYY-MM-DD)")
    mrr: float = Field(
        description="Monthly recurring revenue at the end of the month (or latest day loaded), usd"
    )
    arr: float = Field(description="Annual run rate = 12 x MRR, usd")
    paying_customers: int
    arpa: float | None = Field(
        description="Average revenue per paying account = MRR / paying customers, usd"
    )
    starting_mrr: float = Field(description="MRR at the end of the previous month, usd")
    ending_mrr: float
    movements: MRRMovements
    customers: MRRCustomers
    logo_churn_rate: float | None = Field(
        description="Customers lost / customers at start of the month"
    )
    gross_mrr_churn_rate: float | None = Field(description="(churned + contraction) / starting MRR")
    net_mrr_churn_rate: float | None = Field(description="(churned + contraction - expansion - reactivation) / "
                                                         "starting MRR")  # fmt: skip
    nrr_12m: float | None = Field(
        description="Trailing 12-month net revenue retention (null in the first year)"
    )
    grr_12m: float | None = Field(description="Trailing 12-month gross revenue retention")
    breakdown_by: str | None = None
    breakdown: list[MRRBreakdownRow] | None = Field(
        None, description="Per segment or plan tier, biggest MRR first"
    )
    provenance: Provenance


class RecognitionPeriod(BaseModel):
    period: str = Field(description="Month start or day (YYYY-MM-DD)")
    invoiced_usd: float | None = Field(description="Invoices finalised less refunds")
    recognized_usd: float | None = Field(
        description="Revenue recognised (straight-line over service periods)"
    )
    refunds_usd: float | None = None
    deferred_opening_usd: float | None = Field(
        None, description="Deferred revenue balance at the start (month grain)"
    )
    deferred_closing_usd: float | None = Field(description="Deferred revenue balance at the end")
    deferred_change_usd: float | None = Field(
        None, description="Closing - opening = invoiced - recognised"
    )
    is_closed_month: bool | None = Field(
        None, description="False for a month still in progress (month grain)"
    )


class RecognitionTotals(BaseModel):
    months: int
    open_months: int = Field(description="Months in the totals still in progress")
    invoiced_usd: float | None
    recognized_usd: float | None
    refunds_usd: float | None
    deferred_opening_usd: float | None
    deferred_closing_usd: float | None
    deferred_change_usd: float | None


class RevenueRecognition(BaseModel):
    grain: str
    start: str
    end: str
    periods: list[RecognitionPeriod]
    totals: RecognitionTotals = Field(
        description="Over the whole calendar months overlapping the range"
    )
    notes: list[str]
    provenance: Provenance


class RevenueReport(BaseModel):
    kind: str
    start: str
    end: str
    customer_id: str | None
    columns: list[str]
    rows: list[dict[str, Any]] = Field(description="summary: one row per month; subscription_changes: one row per "
                                                   "customer-month with an MRR movement, biggest change first; "
                                                   "usage_charges: one row per customer-month, biggest first; "
                                                   "invoices: one row per invoice, newest first")  # fmt: skip
    total_rows: int = Field(description="Rows that match, before the limit")
    truncated: bool = Field(
        description="True when more rows exist than returned: raise limit or narrow the range"
    )
    totals: list[dict[str, Any]] = Field(description="summary / usage_charges: one row of range totals; "
                                                     "subscription_changes: per movement type; invoices: per status")  # fmt: skip
    provenance: Provenance


class ForecastPoint(BaseModel):
    ds: str
    yhat: float
    yhat_lower: float | None
    yhat_upper: float | None


class ScenarioPoint(BaseModel):
    ds: str
    base: float | None = None
    optimistic: float | None = None
    pessimistic: float | None = None


class BacktestRow(BaseModel):
    method: str
    is_chosen: bool
    horizon: int | None = Field(description="Months ahead each backtest forecast covered")
    mae: float | None = Field(description="Mean absolute error, usd")
    smape: float | None = Field(description="Symmetric mean absolute percentage error, percent")
    mase: float | None = Field(
        description="MAE relative to a naive forecast's in-sample MAE (<1 beats naive)"
    )
    coverage: float | None = Field(description="Share of actuals inside the prediction interval")
    relative_mae: float | None = Field(description="MAE relative to the seasonal-naive baseline")


class HistoryPoint(BaseModel):
    ds: str
    y: float | None


class RevenueForecast(BaseModel):
    series: str
    horizon_months: int
    method: str | None = Field(description="Model chosen by the pipeline's backtest")
    forecast: list[ForecastPoint]
    scenarios: list[ScenarioPoint] = Field(
        description="MRR scenarios: base / optimistic / pessimistic"
    )
    scenario_assumptions: dict[str, float] = Field(description="Base case: monthly churn_rate and expansion_rate "
                                                               "(fractions of starting MRR) and new_mrr per month "
                                                               "(usd), from the last 6 months of the MRR bridge; "
                                                               "optimistic = churn x0.75, expansion and new x1.25, "
                                                               "pessimistic the reverse")  # fmt: skip
    backtest_chosen: BacktestRow | None = Field(description="Backtest quality of the method used")
    backtest: list[BacktestRow] = Field(description="Every candidate method, chosen first")
    history: list[HistoryPoint]
    notes: list[str]
    provenance: Provenance


class CashFlowMonth(BaseModel):
    ds: str
    mrr: float
    collections: float
    prepayments: float
    costs: float
    net_cash_flow: float
    ending_cash: float


class CashFlowTotals(BaseModel):
    months: int
    collections: float
    prepayments: float
    costs: float
    net_cash_flow: float
    ending_cash: float
    lowest_ending_cash: float
    first_negative_month: str | None = Field(
        description="First month ending cash goes below zero, if any"
    )


class CashFlowProjection(BaseModel):
    months: list[CashFlowMonth]
    totals: CashFlowTotals
    available_months: int
    assumptions: dict[str, Any] = Field(description="Parameters of the projection as the pipeline ran it "
                                                    "(opening cash, collection rate, cost trend window, ...)")  # fmt: skip
    notes: list[str]
    provenance: Provenance


class LTVMonth(BaseModel):
    month: str
    ltv_usd: float | None = Field(description="ARPA x gross margin / monthly churn used")
    cac_usd: float | None = Field(
        description="Sales & marketing spend / new customers (fully loaded)"
    )
    paid_cac_usd: float | None = Field(description="Campaign spend only / new customers")
    ltv_to_cac: float | None
    payback_months: float | None = Field(description="CAC / (new-customer ARPA x gross margin)")
    arpa: float | None
    new_customer_arpa: float | None
    gross_margin_used: float | None
    is_gross_margin_fallback: bool | None = Field(
        description="True when margin was unknown and the default was used"
    )
    churn_rate_used: float | None = Field(description="Trailing 3-month pooled logo churn, floored")
    logo_churn_rate: float | None = Field(description="This month's logo churn")
    is_churn_floored: bool | None = Field(
        description="True when churn was below the floor (LTV would be unbounded)"
    )
    new_customers: int | None
    paying_customers: int | None
    sales_marketing_spend_usd: float | None
    is_closed_month: bool | None


class SegmentLTV(BaseModel):
    segment: str
    month: str
    paying_customers: int | None
    mrr: float | None
    arpa: float | None
    churn_rate_used: float | None
    is_churn_floored: bool | None
    churned_customers_3m: int | None
    gross_margin_used: float | None
    ltv_usd: float | None


class LTVAnalysis(BaseModel):
    month: str = Field(description="Latest month in the analysis")
    segment: str | None
    latest: LTVMonth | None = Field(description="Company-level unit economics of the latest month")
    months: list[LTVMonth]
    segments: list[SegmentLTV] = Field(
        description="LTV per segment for the latest month (CAC is not attributed)"
    )
    notes: list[str]
    provenance: Provenance


class PaymentRecoveryAction(BaseModel):
    customer_id: str
    customer_name: str | None
    segment: str | None
    action: (
        Literal["retry_payment", "update_payment_method", "apply_grace_period", "suspend_service"]
        | None
    ) = Field(description="Recommended next step (null when every invoice was recovered)")
    schedule: str | None = Field(description="When to act (YYYY-MM-DD)")
    communication_sent: bool = Field(
        description="Always false: this tool only recommends; nothing is sent"
    )
    result: Literal["success", "failed", "pending"] = Field(
        description="success: recovered; pending: still in automatic retries; failed: uncollectible"
    )
    amount_at_risk_usd: float
    amount_recovered_usd: float
    invoices: int
    open_invoices: int
    uncollectible_invoices: int
    failed_attempts: int | None
    days_past_due: int | None
    last_failure_code: str | None
    last_failed_on: str | None
    current_mrr: float | None
    is_paying_customer: bool


class RecoveryTotals(BaseModel):
    customers: int
    invoices: int
    amount_at_risk_usd: float
    amount_recovered_usd: float
    actions: dict[str, int] = Field(description="Customers per recommended action")
    current_mrr_at_risk: float = Field(description="Current MRR of the customers listed")


class PaymentRecovery(BaseModel):
    status: str
    as_of: str | None = Field(description="Day the days past due are counted to (last day of data)")
    actions: list[PaymentRecoveryAction] = Field(
        description="Most severe action first, then amount at risk"
    )
    total: int
    truncated: bool
    totals: RecoveryTotals
    rules: list[str] = Field(description="The rules that chose each action, first match wins")
    provenance: Provenance


class FinancialStatement(BaseModel):
    kind: str
    start: str
    end: str
    columns: list[str]
    rows: list[dict[str, Any]] = Field(description="pnl / kpis: one row per month; budget_variance: per month and "
                                                   "department; costs: per service and category, biggest first")  # fmt: skip
    totals: list[dict[str, Any]] = Field(description="pnl / costs: one row of range totals; budget_variance: per "
                                                     "department")  # fmt: skip
    cost_per_request: list[dict[str, Any]] | None = Field(
        None,
        description="costs: cost per 1000 requests per service vs the previous period, biggest rise first",
    )
    allocation: list[dict[str, Any]] | None = Field(
        None,
        description="costs: cost of revenue allocated to customer segments by API request share",
    )
    notes: list[str]
    provenance: Provenance


# ---- helpers -----------------------------------------------------------------------------------


def _provenance(result: FinanceResult) -> Provenance:
    defs = definitions_of(result.definitions)
    return Provenance.of_reports(*result.reports, definitions=defs)


def _iso(value: Any) -> str | None:
    return None if value is None else str(cell(value))[:10]


def _one(result: FinanceResult, part: str) -> dict[str, Any]:
    rows = result[part].rows()
    return rows[0] if rows else {}


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def _thread_progress(ctx: Context) -> finance.Progress:
    def report(done: float, total: float, message: str) -> None:
        anyio.from_thread.run(ctx.report_progress, done, total, message)

    return report


def _ltv_month(row: dict[str, Any]) -> LTVMonth:
    return LTVMonth(
        month=_iso(row["month_start"]) or "", ltv_usd=row.get("ltv"), cac_usd=row.get("cac"),
        paid_cac_usd=row.get("paid_cac_usd"), ltv_to_cac=row.get("ltv_to_cac"), payback_months=row.get("payback_months"),
        arpa=row.get("arpa"), new_customer_arpa=row.get("new_customer_arpa"), gross_margin_used=row.get("gross_margin"),
        is_gross_margin_fallback=row.get("is_gross_margin_fallback"), churn_rate_used=row.get("ltv_churn_rate"),
        logo_churn_rate=row.get("logo_churn_rate"), is_churn_floored=row.get("is_churn_floored"),
        new_customers=_int(row.get("new_customers")), paying_customers=_int(row.get("paying_customers_end")),
        sales_marketing_spend_usd=row.get("sales_marketing_spend_usd"), is_closed_month=row.get("is_closed_month"),
    )  # fmt: skip


# ---- registration ------------------------------------------------------------------------------


def register(server: MCPServer, settings: Settings) -> None:
    """Add the financial management tools to `server`."""

    @server.tool(title="Calculate MRR", annotations=READ_ONLY)
    def calculate_mrr(
        date: Annotated[
            dt.date | None,
            Field(
                description="Any day of the month to report (YYYY-MM-DD); default: the latest month"
            ),
        ] = None,
        breakdown: Annotated[
            Literal["segment", "plan_tier"] | None,
            Field(description="Also break the month down by customer segment or plan tier"),
        ] = None,
    ) -> MRRCalculation:
        """MRR and ARR for one month with the MRR bridge: starting MRR, new, expansion,
        contraction, churned and reactivation MRR, net new MRR, ending MRR, paying customers,
        ARPA, logo and MRR churn rates and trailing-12-month NRR / GRR; optionally per segment or
        plan tier. Use for "what is our MRR", "how did MRR move last month". Governed metric
        definitions are included in provenance. For a trend over many months use
        revenue_report(kind='summary')."""
        with tool_errors():
            result = finance.mrr_calculation(settings, date, breakdown)
        b, t = _one(result, "bridge"), _one(result, "totals")
        rows = None
        if breakdown:
            rows = [MRRBreakdownRow(key=r.get(breakdown), mrr=r.get("mrr"), arr=r.get("arr"),
                                    paying_customers=_int(r.get("paying_customers")), arpa=r.get("arpa"),
                                    starting_mrr=r.get("starting_mrr"), new_mrr=r.get("new_mrr"),
                                    expansion_mrr=r.get("expansion_mrr"), contraction_mrr=r.get("contraction_mrr"),
                                    churned_mrr=r.get("churned_mrr"), reactivation_mrr=r.get("reactivation_mrr"),
                                    net_new_mrr=r.get("net_new_mrr"))
                    for r in result["breakdown"].rows()]  # fmt: skip
        return MRRCalculation(
            month=_iso(b["month_start"]) or "", mrr=t.get("mrr", b["ending_mrr"]), arr=t.get("arr", b["arr"]),
            paying_customers=int(t.get("paying_customers", b["paying_customers_end"])),
            arpa=t.get("arpa", b["arpa"]), starting_mrr=b["starting_mrr"], ending_mrr=b["ending_mrr"],
            movements=MRRMovements(new=t.get("new_mrr", b["new_mrr"]), expansion=t.get("expansion_mrr", b["expansion_mrr"]),
                                   contraction=t.get("contraction_mrr", b["contraction_mrr"]),
                                   churned=t.get("churned_mrr", b["churned_mrr"]),
                                   reactivation=t.get("reactivation_mrr", b["reactivation_mrr"]),
                                   net_new=b["net_new_mrr"]),
            customers=MRRCustomers(paying_start=_int(b["paying_customers_start"]), paying_end=_int(b["paying_customers_end"]),
                                   new=_int(b["new_customers"]), churned=_int(b["churned_customers"]),
                                   reactivated=_int(b["reactivated_customers"]), expanded=_int(b["expansion_customers"]),
                                   contracted=_int(b["contraction_customers"])),
            logo_churn_rate=b["logo_churn_rate"], gross_mrr_churn_rate=b["gross_mrr_churn_rate"],
            net_mrr_churn_rate=b["net_mrr_churn_rate"], nrr_12m=b["nrr_12m"], grr_12m=b["grr_12m"],
            breakdown_by=breakdown, breakdown=rows, provenance=_provenance(result),
        )  # fmt: skip

    @server.tool(title="Revenue recognition", annotations=READ_ONLY)
    def revenue_recognition(
        start: StartDate = None,
        end: EndDate = None,
        grain: Annotated[
            Literal["month", "day"],
            Field(description="month (default; at most 20 years) or day (at most 366 days)"),
        ] = "month",
    ) -> RevenueRecognition:
        """Revenue recognition (ASC 606 style) per month or day: invoiced, recognised and
        deferred revenue (opening, closing, change) in usd, whether each month is closed, and
        totals for the range. Per period, recognised + deferred change = invoiced. Use for
        "how much revenue did we recognise", "what is our deferred revenue"."""
        with tool_errors():
            result = finance.revenue_recognition(settings, start, end, grain)
        periods = []
        for r in result["rows"].rows():
            if grain == "month":
                periods.append(RecognitionPeriod(
                    period=_iso(r["month_start"]) or "", invoiced_usd=r["invoiced_usd"], recognized_usd=r["recognized_usd"],
                    refunds_usd=r["refunds_usd"], deferred_opening_usd=r["deferred_opening_usd"],
                    deferred_closing_usd=r["deferred_closing_usd"], deferred_change_usd=r["deferred_change_usd"],
                    is_closed_month=r["is_closed_month"]))  # fmt: skip
            else:
                periods.append(RecognitionPeriod(period=_iso(r["period"]) or "", invoiced_usd=r["invoiced_revenue"],
                                                 recognized_usd=r["recognized_revenue"],
                                                 deferred_closing_usd=r["deferred_revenue"]))  # fmt: skip
        t = _one(result, "totals")
        totals = RecognitionTotals(months=int(t.get("months") or 0), open_months=int(t.get("open_months") or 0),
                                   invoiced_usd=t.get("invoiced_usd"), recognized_usd=t.get("recognized_usd"),
                                   refunds_usd=t.get("refunds_usd"), deferred_opening_usd=t.get("deferred_opening_usd"),
                                   deferred_closing_usd=t.get("deferred_closing_usd"),
                                   deferred_change_usd=t.get("deferred_change_usd"))  # fmt: skip
        return RevenueRecognition(grain=grain, start=_iso(result.meta["start"]) or "", end=_iso(result.meta["end"]) or "",
                                  periods=periods, totals=totals, notes=list(result.notes),
                                  provenance=_provenance(result))  # fmt: skip

    @server.tool(title="Revenue report", annotations=READ_ONLY)
    def revenue_report(
        kind: Annotated[
            Literal["summary", "subscription_changes", "usage_charges", "invoices"],
            Field(
                description="summary: monthly revenue and MRR movements; subscription_changes: "
                "customer MRR changes (new, expansion, contraction, churn, reactivation); "
                "usage_charges: metered usage billed per customer; invoices: invoice "
                "list and status summary"
            ),
        ] = "summary",
        start: StartDate = None,
        end: EndDate = None,
        customer_id: Annotated[
            str | None,
            Field(description="Only this customer (Stripe id, e.g. cus_...); not for summary"),
        ] = None,
        limit: Limit = 100,
    ) -> RevenueReport:
        """Revenue over a date range, four views: a monthly summary (recognised and invoiced
        revenue, ending MRR, net new MRR and its movements, usage charges), the subscription
        changes behind MRR movements (biggest first), usage-based charges per customer, or the
        invoices with a status summary (paid, open, uncollectible, failed and recovered). Use for
        "revenue report for Q3", "who expanded or churned", "usage charges for customer X",
        "which invoices are unpaid"."""
        with tool_errors():
            result = finance.revenue_report(
                settings, kind, start, end, customer_id=customer_id, limit=limit
            )
        rows = json_rows(result["rows"])
        total = int(result.meta["total"])
        return RevenueReport(kind=kind, start=_iso(result.meta["start"]) or "", end=_iso(result.meta["end"]) or "",
                             customer_id=customer_id, columns=result["rows"].data.columns, rows=rows, total_rows=total,
                             truncated=total > len(rows), totals=json_rows(result["totals"]),
                             provenance=_provenance(result))  # fmt: skip

    @server.tool(title="Forecast revenue", annotations=READ_ONLY)
    async def forecast_revenue(
        ctx: Context,
        horizon_months: Annotated[int, Field(ge=1, le=36, description="Months ahead to show")] = 6,
        scenarios: Annotated[
            list[Literal["base", "optimistic", "pessimistic"]],
            Field(max_length=3, description="MRR scenarios to include (empty for none)"),
        ] = [  # noqa: B006
            "base",
            "optimistic",
            "pessimistic",
        ],
        series: Annotated[
            Literal["mrr", "recognized_revenue"],
            Field(description="Series of the statistical forecast"),
        ] = "mrr",
    ) -> Annotated[CallToolResult, RevenueForecast]:
        """Revenue forecast for the next months: the pipeline's statistical forecast of MRR (or
        recognised revenue) with prediction intervals and its backtest quality (MAE, sMAPE, MASE,
        interval coverage of the chosen model against the alternatives), plus base / optimistic /
        pessimistic MRR scenarios with the churn, expansion and new-MRR assumptions behind them.
        Returns a chart. Use for "what will MRR be in 6 months", "best and worst case"."""
        progress = _thread_progress(ctx)

        def work() -> FinanceResult:
            with tool_errors():
                return finance.revenue_forecast(
                    settings, horizon_months, scenarios, series, progress=progress
                )

        result = await anyio.to_thread.run_sync(work)
        fc = result["forecast"]
        backtest = [BacktestRow(method=r["method"], is_chosen=bool(r["is_chosen"]), horizon=_int(r["horizon"]),
                                mae=r["mae"], smape=r["smape"], mase=r["mase"], coverage=r["coverage"],
                                relative_mae=r["relative_mae"]) for r in result["backtest"].rows()]  # fmt: skip
        chosen = next((b for b in backtest if b.is_chosen), None)
        method = (
            fc.data.get_column("method")[0]
            if fc.data.height
            else (chosen.method if chosen else None)
        )
        model = RevenueForecast(
            series=series, horizon_months=horizon_months, method=method,
            forecast=[ForecastPoint(ds=_iso(r["ds"]) or "", yhat=r["yhat"], yhat_lower=r["yhat_lower"],
                                    yhat_upper=r["yhat_upper"]) for r in fc.rows()],
            scenarios=[ScenarioPoint(ds=_iso(r["ds"]) or "", **{k: r[k] for k in finance.SCENARIOS if k in r})
                       for r in result["scenarios"].rows()],
            scenario_assumptions=result.meta["assumptions"], backtest_chosen=chosen, backtest=backtest,
            history=[HistoryPoint(ds=_iso(r["ds"]) or "", y=r["y"]) for r in result["history"].rows()],
            notes=list(result.notes), provenance=_provenance(result),
        )  # fmt: skip
        png = charts.forecast_png(result["history"].data, fc.data, f"{series} forecast ({method})")
        last = model.forecast[-1] if model.forecast else None
        summary = f"{series} forecast ({method}), {len(model.forecast)} months"
        if last:
            summary += f"; {last.ds}: {last.yhat:,.0f} usd"
            if last.yhat_lower is not None and last.yhat_upper is not None:
                summary += f" (interval {last.yhat_lower:,.0f} to {last.yhat_upper:,.0f})"
        if chosen and chosen.smape is not None:
            summary += f"; backtest sMAPE {chosen.smape:.1f}%"
        return with_chart(model, summary, png)

    @server.tool(title="Cash flow projection", annotations=READ_ONLY)
    def cash_flow_projection(
        months: Annotated[int, Field(ge=1, le=60, description="Months ahead to project")] = 12,
    ) -> CashFlowProjection:
        """Projected monthly cash flow of the base MRR scenario: collections, annual
        prepayments, costs, net cash flow and cumulative ending cash, with totals, the lowest
        cash point and the first month cash would go negative, plus the assumptions used. Use for
        "predict our cash flow", "do we run out of cash"."""
        with tool_errors():
            result = finance.cash_flow(settings, months)
        t = _one(result, "totals")
        return CashFlowProjection(
            months=[CashFlowMonth(ds=_iso(r["ds"]) or "", mrr=r["mrr"], collections=r["collections"],
                                  prepayments=r["prepayments"], costs=r["costs"], net_cash_flow=r["net_cash_flow"],
                                  ending_cash=r["ending_cash"]) for r in result["rows"].rows()],
            totals=CashFlowTotals(months=int(t["months"]), collections=t["collections"], prepayments=t["prepayments"],
                                  costs=t["costs"], net_cash_flow=t["net_cash_flow"], ending_cash=t["ending_cash"],
                                  lowest_ending_cash=t["lowest_ending_cash"],
                                  first_negative_month=_iso(t["first_negative_month"])),
            available_months=int(result.meta["available"]), assumptions=jsonable(result.meta["assumptions"]),
            notes=list(result.notes), provenance=_provenance(result),
        )  # fmt: skip

    @server.tool(title="Customer lifetime value analysis", annotations=READ_ONLY)
    def ltv_analysis(
        segment: Annotated[
            str | None,
            Field(
                description="Customer segment to show (e.g. smb, mid_market, "
                "enterprise); default: all"
            ),
        ] = None,
        months: Annotated[
            int, Field(ge=1, le=120, description="Months of company-level history")
        ] = 12,
    ) -> LTVAnalysis:
        """Customer lifetime value and acquisition economics: LTV, CAC (fully loaded and
        campaign-only), LTV:CAC, payback months, ARPA, the churn and gross margin used (with flags
        when churn was floored or margin fell back to a default) per month, and LTV per customer
        segment for the latest month. Use for "what is our LTV", "LTV:CAC", "which segment is most
        valuable"."""
        with tool_errors():
            result = finance.ltv_analysis(settings, segment, months)
        hist = [_ltv_month(r) for r in result["company"].rows()]
        segs = [SegmentLTV(segment=r["segment"], month=_iso(r["month_start"]) or "",
                           paying_customers=_int(r["paying_customers_end"]), mrr=r["ending_mrr"], arpa=r["arpa"],
                           churn_rate_used=r["ltv_churn_rate"], is_churn_floored=r["is_churn_floored"],
                           churned_customers_3m=_int(r["churned_3m"]), gross_margin_used=r["gross_margin_pct"],
                           ltv_usd=r["ltv_usd"]) for r in result["segments"].rows()]  # fmt: skip
        return LTVAnalysis(month=_iso(result.meta["month"]) or "", segment=segment, latest=hist[-1] if hist else None,
                           months=hist, segments=segs, notes=list(result.notes),
                           provenance=_provenance(result))  # fmt: skip

    @server.tool(title="Payment recovery recommendations", annotations=READ_ONLY)
    def payment_recovery(
        status: Annotated[
            Literal["unpaid", "open", "uncollectible", "recovered", "all"],
            Field(
                description="Invoices with failed payments to consider: unpaid (open + "
                "uncollectible, default), open (still in automatic retries), "
                "uncollectible (retries exhausted), recovered (paid after a failure), "
                "all"
            ),
        ] = "unpaid",
        customer_id: Annotated[
            str | None, Field(description="Only this customer (Stripe id, e.g. cus_...)")
        ] = None,
        limit: Limit = 100,
    ) -> PaymentRecovery:
        """Customers with failed payments and the recommended recovery action for each
        (retry_payment, update_payment_method, apply_grace_period or suspend_service) with when
        to act, the amount at risk, days past due, the last failure code and the customer's
        current MRR; the documented rules are returned with the answer. Read-only: it recommends,
        nothing is charged or sent. Use for "handle payment failures", "who owes us money"."""
        with tool_errors():
            result = finance.payment_recovery(settings, status, customer_id, limit)
        rows = result["rows"].rows()
        actions = [PaymentRecoveryAction(
            customer_id=r["customer_id"], customer_name=r["customer_name"], segment=r["segment"], action=r["action"],
            schedule=_iso(r["schedule"]), communication_sent=False, result=r["result"],
            amount_at_risk_usd=r["amount_at_risk_usd"] or 0.0, amount_recovered_usd=r["amount_recovered_usd"] or 0.0,
            invoices=int(r["invoices"]), open_invoices=int(r["open_invoices"] or 0),
            uncollectible_invoices=int(r["uncollectible_invoices"] or 0), failed_attempts=_int(r["failed_attempts"]),
            days_past_due=_int(r["max_days_past_due"]), last_failure_code=r["last_failure_code"],
            last_failed_on=_iso(r["last_failed_on"]), current_mrr=r["current_mrr"],
            is_paying_customer=bool(r["is_paying_customer"]),
        ) for r in rows]  # fmt: skip
        t = _one(result, "totals")
        names = ("retry_payment", "update_payment_method", "apply_grace_period", "suspend_service")
        totals = RecoveryTotals(customers=int(t.get("customers") or 0), invoices=int(t.get("invoices") or 0),
                                amount_at_risk_usd=t.get("amount_at_risk_usd") or 0.0,
                                amount_recovered_usd=t.get("amount_recovered_usd") or 0.0,
                                actions={n: int(t.get(n) or 0) for n in names},
                                current_mrr_at_risk=t.get("current_mrr_at_risk") or 0.0)  # fmt: skip
        total = int(result.meta["total"])
        return PaymentRecovery(status=status, as_of=_iso(rows[0]["as_of"]) if rows else None, actions=actions,
                               total=total, truncated=total > len(actions), totals=totals,
                               rules=list(result.notes), provenance=_provenance(result))  # fmt: skip

    @server.tool(title="Financial statements", annotations=READ_ONLY)
    async def financial_statements(
        ctx: Context,
        kind: Annotated[
            Literal["pnl", "budget_variance", "costs", "kpis"],
            Field(
                description="pnl: profit and loss; budget_variance: budget vs actual per department; "
                "costs: cloud costs by service and category, cost per 1000 requests, "
                "allocation to segments; kpis: key financial metrics per month"
            ),
        ] = "kpis",
        start: Annotated[
            dt.date | None,
            Field(
                description="First day (YYYY-MM-DD); default: 12 months before end "
                "(3 months for costs)"
            ),
        ] = None,
        end: EndDate = None,
    ) -> FinancialStatement:
        """Financial statements over a date range: the monthly P&L (revenue, cost of revenue,
        gross profit, opex by department, operating income), budget vs actual by department,
        operational cost breakdown (by service and category, cost per 1000 requests against the
        previous period to spot what to optimise, cost of revenue allocated to customer segments
        by API usage), or key financial metrics per month (MRR, ARR, NRR, GRR, customers, ARPA,
        logo churn, gross margin, LTV, CAC, payback, LTV:CAC, operating income, net burn).
        Monthly rows are bounded by the range (at most 20 years)."""
        progress = _thread_progress(ctx)

        def work() -> FinanceResult:
            with tool_errors():
                return finance.financial_statements(settings, kind, start, end, progress=progress)

        result = await anyio.to_thread.run_sync(work)
        extra: dict[str, Any] = {}
        if kind == "costs":
            extra = {"cost_per_request": json_rows(result["cost_per_request"]),
                     "allocation": json_rows(result["allocation"])}  # fmt: skip
        return FinancialStatement(kind=kind, start=_iso(result.meta["start"]) or "", end=_iso(result.meta["end"]) or "",
                                  columns=result["rows"].data.columns, rows=json_rows(result["rows"]),
                                  totals=json_rows(result["totals"]) if "totals" in result.parts else [],
                                  notes=list(result.notes), provenance=_provenance(result), **extra)  # fmt: skip
