"""Customer success: health, churn risk and interventions, expansion and customer value,
engagement and usage patterns, onboarding, and NPS / feature adoption / time to value.

Thin adapters over `analytics.reports.customer_success`: every number, threshold and
recommendation rule lives there (or in dbt and the analytics models); this module shapes
arguments and results for an AI assistant and turns the analytics layer's errors into tool errors.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.prompts.base import UserMessage
from pydantic import BaseModel, Field

from analytics.reports import Report, ReportError
from analytics.reports import customer_success as cs
from analytics.settings import Settings
from mcp_layer import completions
from mcp_layer.common import (
    READ_ONLY,
    Provenance,
    cell,
    definitions_of,
    json_rows,
    jsonable,
    prompt_errors,
    tool_errors,
)

CustomerId = Annotated[str, Field(min_length=1, max_length=64,
                                  description="Customer id, e.g. 'cus_sY0fvUGcUcpTREWF' (customer_health lists them)")]  # fmt: skip
Limit = Annotated[
    int, Field(ge=1, le=cs.MAX_LIMIT, description=f"Maximum rows to return (1-{cs.MAX_LIMIT})")
]
COMPLETION_TTL_SECONDS = 300.0


# ---- output models -----------------------------------------------------------------------------


class HealthFactors(BaseModel):
    usage_health: float | None = Field(
        description="Usage factor 0-100 (API requests vs the customer's own baseline)"
    )
    engagement_health: float | None = Field(
        description="Engagement factor 0-100 (active users, feature use)"
    )
    support_health: float | None = Field(
        description="Support factor 0-100 (tickets, open priority tickets, CSAT)"
    )
    billing_health: float | None = Field(
        description="Billing factor 0-100 (failed charges, past-due invoices)"
    )


class HealthSignals(BaseModel):
    api_requests_14d: float | None
    active_users_28d: float | None
    tickets_30d: float | None
    open_priority_tickets: float | None
    failed_charges_30d: float | None
    past_due_invoices: float | None


class HealthRecommendation(BaseModel):
    priority: Literal["high", "medium", "low"]
    category: str = Field(description="risk, trend, usage, engagement, support, billing or nurture")
    rule: str = Field(description="Name of the recommendation rule that fired")
    action: str = Field(description="What to do")
    signal: str = Field(description="The signal the rule read")
    signal_value: float | None = Field(description="Its value for this customer")


class CustomerHealth(BaseModel):
    customer_id: str
    customer_name: str | None
    segment: str | None
    plan_tier: str | None
    seats: int | None
    health_score: float = Field(
        description="0-100, weighted factors (usage 35%, engagement 25%, support 20%, billing 20%)"
    )
    factors: HealthFactors
    trend: Literal["improving", "stable", "declining"] = Field(
        description="From the score's slope over 28 days"
    )
    risk_level: Literal["low", "medium", "high", "critical"]
    score_change_28d: float | None = Field(
        description="Score change over the last 28 days (points)"
    )
    main_drag_factor: str | None = Field(
        description="The factor losing the most weighted points ('none' if no factor loses a point)"
    )
    main_drag_points: float | None = Field(
        description="Weighted points that factor costs the score"
    )
    days_as_customer: int | None
    last_updated: str = Field(description="As-of date of the score (ISO)")
    signals: HealthSignals
    recommendations: list[HealthRecommendation] = Field(description="Most urgent first")


class HealthPoint(BaseModel):
    date: str
    health_score: float | None
    usage_health: float | None
    engagement_health: float | None
    support_health: float | None
    billing_health: float | None
    risk_level: str | None
    trend: str | None


class CustomerHealthResult(BaseModel):
    customers: list[CustomerHealth] = Field(description="Current customers, lowest health first")
    total: int = Field(description="Customers matching the filters")
    truncated: bool = Field(
        description="True when more customers match than were returned (raise limit)"
    )
    history: list[HealthPoint] | None = Field(
        None, description="Weekly score points of the one customer asked for"
    )
    provenance: Provenance


class RiskFactor(BaseModel):
    feature: str = Field(description="Churn model input")
    value: str = Field(description="The customer's value of it")
    contribution: float = Field(description="How much it raises the churn risk (model units)")


class InterventionAction(BaseModel):
    category: str
    action: str
    because: str = Field(description="The risk factor or 'churn_probability' behind the action")


class ChurnPrediction(BaseModel):
    customer_id: str
    customer_name: str | None
    segment: str | None
    churn_probability: float = Field(
        description="Probability (0-1) of churning within 90 days after as_of"
    )
    churn_probability_30d: float | None = Field(
        None, description="Probability (0-1) of churning within 30 days after as_of"
    )
    time_to_churn: float | None = Field(
        description="Expected days to churn under a constant hazard (capped at 3650)"
    )
    primary_risk_factors: list[RiskFactor] = Field(
        description="Inputs raising this customer's risk most"
    )
    confidence: float | None = Field(
        description="Share of the model's inputs known (halved under 3 months tenure)"
    )
    current_mrr: float = Field(description="MRR on the last snapshot day (USD)")
    expected_mrr_at_risk: float = Field(description="churn_probability x current_mrr (USD)")
    intervention_tier: Literal["urgent", "high", "elevated", "low"]
    health_score: float | None
    risk_level: str | None = Field(description="Health risk level, for comparison")
    recommended_actions: list[InterventionAction] = Field(
        description="Interventions to trigger, most urgent first"
    )
    as_of: str = Field(description="The last day of data the prediction uses")


class ChurnPredictionsResult(BaseModel):
    predictions: list[ChurnPrediction] = Field(description="Highest churn probability first")
    total: int
    truncated: bool
    total_expected_mrr_at_risk: float | None = Field(
        description="Expected MRR at risk over ALL matching customers"
    )
    model_quality: dict[str, float] = Field(
        description="Held-out evaluation: roc_auc, pr_auc, brier, base_rate, counts"
    )
    provenance: Provenance


class ExpansionOpportunity(BaseModel):
    customer_id: str
    customer_name: str | None
    segment: str | None
    plan_tier: str | None
    current_mrr: float | None
    expansion_score: float | None = Field(description="0-1")
    priority: str | None = Field(description="high, medium or none")
    signal_count: int | None
    signals: dict[str, bool | None] = Field(
        description="near_usage_limit, seats_full, at_plan_seat_max, growing_fast"
    )
    suggested_action: str | None
    usage: dict[str, Any] = Field(description="Usage and seat figures behind the signals")
    as_of_date: str | None


class ValueForecast(BaseModel):
    customer_id: str
    horizon_months: int
    current_mrr: float
    churn_probability_90d: float
    survival_at_horizon: float = Field(
        description="Probability the customer is still paying at the horizon"
    )
    monthly_expansion_rate: float
    expected_mrr_at_horizon: float
    expected_revenue: float = Field(description="Expected revenue over months 1..horizon (USD)")


class ExpansionResult(BaseModel):
    opportunities: list[ExpansionOpportunity] = Field(description="Highest expansion score first")
    total: int
    truncated: bool
    value_forecast: ValueForecast | None = Field(None, description="For the one customer asked for")
    provenance: Provenance


class EngagementResult(BaseModel):
    customer_id: str | None
    weeks: list[dict[str, Any]] | None = Field(
        None,
        description="Weekly engagement of the customer, oldest first, with changes vs the week before",
    )
    usage_pattern: dict[str, Any] | None = Field(None, description="The customer's usage pattern")
    trend_overview: list[dict[str, Any]] | None = Field(
        None,
        description="Current customers per usage trend: count, MRR, average usage ratio, check-ins due",
    )
    accounts: list[dict[str, Any]] | None = Field(
        None,
        description="Current customers with the asked usage trend, steepest decline first, with check_in_due",
    )
    total: int = Field(description="Rows matching (weeks for one customer, accounts otherwise)")
    truncated: bool
    provenance: Provenance


class OnboardingResult(BaseModel):
    customer: dict[str, Any] | None = Field(None, description="The customer's onboarding progress")
    plan: list[dict[str, Any]] | None = Field(
        None,
        description="Every milestone in order: done (when) or not yet (typical days after signup, share reaching)",
    )
    funnel: list[dict[str, Any]] | None = Field(
        None,
        description="Per milestone: accounts reaching it, conversion from the previous, stalled_here",
    )
    stalled_accounts: list[dict[str, Any]] | None = Field(
        None, description="Accounts not done onboarding, current customers and least complete first"
    )
    total: int = Field(description="Stalled accounts matching (0 for one customer)")
    truncated: bool
    provenance: Provenance


class SuccessMetricsResult(BaseModel):
    kind: str
    columns: list[str]
    rows: list[dict[str, Any]] = Field(
        description="One row per month (and segment / feature), most recent first"
    )
    total: int
    truncated: bool
    provenance: Provenance


# ---- shaping helpers ---------------------------------------------------------------------------


def _iso(value: Any) -> str:
    return str(cell(value))


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def _health(row: dict[str, Any], recs: list[HealthRecommendation]) -> CustomerHealth:
    return CustomerHealth(
        customer_id=row["customer_id"], customer_name=row["customer_name"], segment=row["segment"],
        plan_tier=row["plan_tier"], seats=row["seats"], health_score=row["health_score"],
        factors=HealthFactors(usage_health=row["usage_score"], engagement_health=row["engagement_score"],
                              support_health=row["support_score"], billing_health=row["billing_score"]),
        trend=row["trend"], risk_level=row["risk_level"], score_change_28d=row["score_change_28d"],
        main_drag_factor=row["main_drag_factor"], main_drag_points=row["main_drag_points"],
        days_as_customer=row["days_as_customer"], last_updated=_iso(row["as_of_date"]),
        signals=HealthSignals(**{k: _num(row[k]) for k in HealthSignals.model_fields}),
        recommendations=recs,
    )  # fmt: skip


def _total(report: Report) -> int:
    data = report.data
    return int(data["total_matching"][0]) if data.height and "total_matching" in data.columns else 0


def _rows(report: Report, drop: tuple[str, ...] = ("total_matching",)) -> list[dict[str, Any]]:
    return json_rows([{k: v for k, v in r.items() if k not in drop} for r in report.rows()])


class _Directory:
    """Customer ids for completion, read once and refreshed after COMPLETION_TTL_SECONDS."""

    def __init__(self, settings: Settings) -> None:
        self.settings, self.ids, self.loaded_at, self.lock = (
            settings,
            list[str](),
            0.0,
            threading.Lock(),
        )

    def __call__(self, partial: str) -> list[str]:
        with self.lock:
            if not self.ids or time.monotonic() - self.loaded_at > COMPLETION_TTL_SECONDS:
                try:
                    data = cs.customer_directory(self.settings).data
                except Exception:  # noqa: BLE001 - completion is best effort
                    return self.ids
                # current customers first, then churned ones
                data = data.sort(["is_current_customer", "customer_id"], descending=[True, False])
                self.ids, self.loaded_at = data["customer_id"].to_list(), time.monotonic()
            return self.ids


# ---- registration ------------------------------------------------------------------------------


def register(server: MCPServer, settings: Settings) -> None:
    """Add the customer success tools and the churn_risk_brief prompt to `server`."""

    completions.provide(server, "customer_id", _Directory(settings))

    @server.tool(title="Customer health", annotations=READ_ONLY)
    def customer_health(
        customer_id: Annotated[
            CustomerId | None, Field(description="One customer's id; omit to list customers")
        ] = None,
        risk_levels: Annotated[
            list[Literal["low", "medium", "high", "critical"]] | None,
            Field(
                max_length=4,
                description="Only these risk levels, e.g. ['high', 'critical'] for at-risk customers",
            ),
        ] = None,
        max_score: Annotated[
            float | None,
            Field(
                ge=0,
                le=100,
                description="Only customers with health_score <= this (at-risk threshold)",
            ),
        ] = None,
        segment: Annotated[
            str | None, Field(description="Only this segment: smb, mid_market or enterprise")
        ] = None,
        trend: Annotated[
            Literal["improving", "stable", "declining"] | None,
            Field(description="Only customers with this trend"),
        ] = None,
        limit: Limit = 25,
    ) -> CustomerHealthResult:
        """Health scores (0-100) of current customers, lowest first: the four factors (usage,
        engagement, support, billing), trend, risk level, the factor dragging the score down most,
        the signals behind it and recommended actions. Use it to check one customer's health (pass
        customer_id: adds a 12-week score history) or to find at-risk customers (risk_levels
        ['high','critical'] or max_score). For churn probability use churn_predictions."""
        with tool_errors():
            result = cs.customer_health(settings, customer_id=customer_id, risk_levels=risk_levels,
                                        max_score=max_score, segment=segment, trend=trend, limit=limit)  # fmt: skip
        recs: dict[str, list[HealthRecommendation]] = {}
        for r in result.recommendations.rows():
            recs.setdefault(r["customer_id"], []).append(HealthRecommendation(
                priority=r["priority"], category=r["category"], rule=r["rule"], action=r["action"],
                signal=r["signal"], signal_value=r["signal_value"]))  # fmt: skip
        customers = [
            _health(row, recs.get(row["customer_id"], [])) for row in result.customers.rows()
        ]
        total = _total(result.customers)
        history = None
        reports = [result.customers, result.recommendations]
        if result.history is not None:
            reports.append(result.history)
            history = [HealthPoint(date=_iso(p["date_day"]), health_score=p["health_score"],
                                   usage_health=p["usage_score"], engagement_health=p["engagement_score"],
                                   support_health=p["support_score"], billing_health=p["billing_score"],
                                   risk_level=p["risk_level"], trend=p["trend"])
                       for p in result.history.rows()]  # fmt: skip
        return CustomerHealthResult(customers=customers, total=total, truncated=total > len(customers),
                                    history=history, provenance=Provenance.of_reports(*reports))  # fmt: skip

    @server.tool(title="Churn predictions and interventions", annotations=READ_ONLY)
    def churn_predictions(
        customer_id: Annotated[
            CustomerId | None, Field(description="One customer's id; omit for all")
        ] = None,
        min_probability: Annotated[
            float,
            Field(ge=0, le=1, description="Only predictions with churn_probability >= this (0-1)"),
        ] = 0.0,
        limit: Limit = 25,
    ) -> ChurnPredictionsResult:
        """Predicted 90-day churn probability per paying customer, highest first: expected days to
        churn, the risk factors raising it, confidence, current MRR and expected MRR at risk, an
        intervention tier and the interventions to trigger (read-only: who to act on and how).
        Also returns the model's held-out quality (ROC AUC, PR AUC, Brier) so the answer can say
        how far to trust it."""
        with tool_errors():
            result = cs.churn_predictions(settings, customer_id=customer_id, min_probability=min_probability,
                                          limit=limit)  # fmt: skip
        rows = result.predictions.rows()
        preds = [ChurnPrediction(
            customer_id=r["customer_id"], customer_name=r["customer_name"], segment=r["segment"],
            churn_probability=r["churn_probability"], churn_probability_30d=r.get("churn_probability_30d"),
            time_to_churn=r["expected_days_to_churn"], primary_risk_factors=[RiskFactor(**f) for f in r["risk_factors"]], confidence=r["confidence"],
            current_mrr=r["current_mrr"], expected_mrr_at_risk=r["expected_mrr_at_risk"],
            intervention_tier=r["intervention_tier"], health_score=r["health_score"], risk_level=r["risk_level"],
            recommended_actions=[InterventionAction(**a) for a in r["recommended_actions"]], as_of=_iso(r["as_of"]),
        ) for r in rows]  # fmt: skip
        total = _total(result.predictions)
        quality = {r["metric"]: r["value"] for r in result.model_quality.rows()}
        at_risk = rows[0]["total_expected_mrr_at_risk"] if rows else None
        return ChurnPredictionsResult(predictions=preds, total=total, truncated=total > len(preds),
                                      total_expected_mrr_at_risk=at_risk, model_quality=quality,
                                      provenance=Provenance.of_reports(result.predictions, result.model_quality))  # fmt: skip

    @server.tool(title="Expansion opportunities and customer value", annotations=READ_ONLY)
    async def expansion_opportunities(
        ctx: Context,
        customer_id: Annotated[
            CustomerId | None,
            Field(description="One customer's id: adds its value forecast; omit to list"),
        ] = None,
        priority: Annotated[
            Literal["high", "medium", "none"] | None,
            Field(description="Only opportunities of this priority"),
        ] = None,
        horizon_months: Annotated[
            int,
            Field(ge=1, le=36, description="Value forecast horizon in months (with customer_id)"),
        ] = 12,
        limit: Limit = 25,
    ) -> ExpansionResult:
        """Upsell / expansion opportunities of current customers, highest score first: usage near
        the plan's included requests, seats full or at the plan maximum, fast growth, the expansion
        score (0-1) and a suggested action. With customer_id it also forecasts the customer's value
        over horizon_months (expected MRR at the horizon and expected revenue, from churn risk and
        expansion rate). Use for upsell lists and 'what is this customer worth'."""
        await ctx.report_progress(0, 2, "reading expansion opportunities")
        with tool_errors():
            opps = await anyio.to_thread.run_sync(
                lambda: cs.expansion_opportunities(
                    settings, customer_id=customer_id, priority=priority, limit=limit
                )
            )
        reports = [opps]
        forecast = None
        if customer_id is not None:
            await ctx.report_progress(1, 2, "forecasting customer value")
            with tool_errors():
                vf = await anyio.to_thread.run_sync(
                    lambda: cs.customer_value_forecast(settings, customer_id, horizon_months)
                )
            reports.append(vf)
            forecast = ValueForecast(**json_rows(vf)[0])
        await ctx.report_progress(2, 2, "done")
        flags = ("near_usage_limit", "seats_full", "at_plan_seat_max", "growing_fast")
        usage = ("usage_pct_of_included", "usage_growth", "requests_30d", "api_requests_included", "seats",
                 "seats_included_max", "seat_utilisation", "active_users_30d")  # fmt: skip
        items = [ExpansionOpportunity(
            customer_id=r["customer_id"], customer_name=r["customer_name"], segment=r["segment"],
            plan_tier=r["plan_tier"], current_mrr=r["current_mrr"], expansion_score=r["expansion_score"],
            priority=r["priority"], signal_count=r["signal_count"], signals={f: r[f] for f in flags},
            suggested_action=r["suggested_action"], usage={u: r[u] for u in usage},
            as_of_date=cell(r["as_of_date"]),
        ) for r in _rows(opps)]  # fmt: skip
        total = _total(opps)
        return ExpansionResult(opportunities=items, total=total, truncated=total > len(items),
                               value_forecast=forecast, provenance=Provenance.of_reports(*reports))  # fmt: skip

    @server.tool(title="Customer engagement and usage patterns", annotations=READ_ONLY)
    def customer_engagement(
        customer_id: Annotated[
            CustomerId | None,
            Field(
                description="One customer's id: its weekly engagement and usage pattern; omit for the overview"
            ),
        ] = None,
        weeks: Annotated[
            int, Field(ge=1, le=cs.MAX_WEEKS, description="Weeks of history (with customer_id)")
        ] = 12,
        usage_trend: Annotated[
            Literal["declining", "growing", "stable", "new"] | None,
            Field(
                description="Overview only: list the current customers with this usage trend (default declining)"
            ),
        ] = "declining",
        limit: Limit = 25,
    ) -> EngagementResult:
        """Engagement and usage patterns. With customer_id: the customer's weekly API requests,
        errors, active users, feature events and seats (with week-over-week changes) and its usage
        pattern (trend, last 28 days vs the 56 before, peak endpoint and day). Without: customers
        per usage trend and the accounts with the chosen trend (declining by default), each with
        MRR, health and check_in_due: the list to schedule check-ins with or to target with an
        engagement campaign."""
        with tool_errors():
            if customer_id is not None:
                series = cs.engagement_series(settings, customer_id, weeks)
                pattern = cs.usage_pattern(settings, customer_id)
                rows = _rows(series)
                return EngagementResult(customer_id=customer_id, weeks=rows,
                                        usage_pattern=(_rows(pattern) or [None])[0], total=len(rows),
                                        truncated=False, provenance=Provenance.of_reports(series, pattern))  # fmt: skip
            overview = cs.usage_trend_overview(settings)
            accounts = cs.usage_pattern_accounts(settings, usage_trend=usage_trend, limit=limit)
        rows = _rows(accounts)
        total = _total(accounts)
        return EngagementResult(customer_id=None, trend_overview=_rows(overview), accounts=rows, total=total,
                                truncated=total > len(rows), provenance=Provenance.of_reports(overview, accounts))  # fmt: skip

    @server.tool(title="Onboarding status", annotations=READ_ONLY)
    def onboarding_status(
        customer_id: Annotated[
            CustomerId | None,
            Field(
                description="One customer's id: its progress and next milestones; omit for the funnel"
            ),
        ] = None,
        signup_start: Annotated[
            dt.date | None,
            Field(description="Funnel only: accounts signed up in or after this month"),
        ] = None,
        signup_end: Annotated[
            dt.date | None,
            Field(description="Funnel only: accounts signed up in or before this month"),
        ] = None,
        limit: Limit = 25,
    ) -> OnboardingResult:
        """Onboarding progress. With customer_id: milestones completed, completion %, time to value
        and a plan of every milestone in order (done when, or for the next ones how long accounts
        typically take and how many get there) to build a personalised onboarding plan. Without:
        the onboarding funnel (accounts reaching each milestone, conversion from the previous one,
        where accounts stall) and the accounts that have not finished onboarding."""
        with tool_errors():
            if customer_id is not None:
                if signup_start is not None or signup_end is not None:
                    raise ReportError(
                        "signup_start / signup_end apply to the funnel only: omit them with customer_id"
                    )
                progress = cs.onboarding_progress(settings, customer_id)
                plan = cs.onboarding_plan(settings, customer_id)
                return OnboardingResult(customer=_rows(progress)[0], plan=_rows(plan), total=0, truncated=False,
                                        provenance=Provenance.of_reports(progress, plan))  # fmt: skip
            funnel = cs.onboarding_funnel(settings, signup_start, signup_end)
            stalled = cs.stalled_onboarding_accounts(settings, limit)
        rows = _rows(stalled)
        total = _total(stalled)
        return OnboardingResult(funnel=_rows(funnel), stalled_accounts=rows, total=total,
                                truncated=total > len(rows), provenance=Provenance.of_reports(funnel, stalled))  # fmt: skip

    @server.tool(
        title="Success metrics: NPS, feature adoption, time to value", annotations=READ_ONLY
    )
    def success_metrics(
        kind: Annotated[
            Literal["nps", "feature_adoption", "time_to_value"],
            Field(
                description="nps (monthly NPS, promoters, detractors), feature_adoption (per feature: "
                "adoption rate = feature users / active users) or time_to_value (per signup month)"
            ),
        ],
        start: Annotated[
            dt.date | None, Field(description="First month (YYYY-MM-DD), inclusive")
        ] = None,
        end: Annotated[
            dt.date | None, Field(description="Last day (YYYY-MM-DD), inclusive")
        ] = None,
        segment: Annotated[
            str | None, Field(description="nps only: smb, mid_market or enterprise")
        ] = None,
        feature: Annotated[
            str | None, Field(description="feature_adoption only: one feature, e.g. 'sso'")
        ] = None,
        limit: Annotated[
            int, Field(ge=1, le=500, description="Maximum rows (most recent first)")
        ] = 120,
    ) -> SuccessMetricsResult:
        """Customer success metrics by month from the governed metric definitions: NPS (surveys are
        quarterly, so months without responses are absent), feature adoption per feature, or time
        to value per signup month (average, median, p75 days and the share reaching value within
        the target). Per-customer time to value: onboarding_status."""
        with tool_errors():
            result = cs.success_metric(
                settings, kind, start=start, end=end, segment=segment, feature=feature
            )
        rows = [
            {k: cell(v) for k, v in r.items()}
            for r in result.data.head(limit).iter_rows(named=True)
        ]
        definitions = definitions_of(result.definitions)
        provenance = Provenance.of(sql=result.sql, tables=result.tables, freshness=result.freshness,
                                   definitions=definitions)  # fmt: skip
        return SuccessMetricsResult(kind=kind, columns=result.data.columns, rows=rows, total=result.data.height,
                                    truncated=result.data.height > len(rows), provenance=provenance)  # fmt: skip

    @server.prompt(name="churn_risk_brief", title="Churn-risk account brief")
    def churn_risk_brief(
        customer_id: Annotated[str, Field(description="Customer id, e.g. 'cus_sY0fvUGcUcpTREWF'")],
    ) -> list[UserMessage]:
        """Write a churn-risk brief for one customer from warehouse facts: health factors and trend,
        churn probability and risk factors, MRR, recent tickets and usage, recommended actions."""
        with prompt_errors():
            facts = _brief_facts(settings, customer_id)
        instructions = (
            f"Write a churn-risk brief for the account {facts['customer']['customer_name']} ({customer_id}) for its "
            "customer success manager. Sections: 1) Risk summary (one paragraph: risk level, churn probability, "
            "MRR at stake); 2) What is driving the risk (health factors, trend, churn risk factors, usage, "
            "tickets); 3) Recommended actions, most urgent first, each tied to the fact that motivates it; "
            "4) What to watch next. Rules: cite numbers ONLY from the facts below, exactly as given (you may "
            "round); do not invent numbers, dates or events; when a fact is missing (null), say it is unknown. "
            "State the as-of dates and that churn probability is a model estimate with the quality given."
        )
        return [
            UserMessage(instructions),
            UserMessage(
                "Facts (JSON, from the warehouse):\n" + json.dumps(facts, indent=1, default=str)
            ),
        ]


def _brief_facts(settings: Settings, customer_id: str) -> dict[str, Any]:
    """The facts of the churn-risk brief, each read through analytics (no arithmetic here)."""
    customer = cs.check_customer(settings, customer_id)
    facts: dict[str, Any] = {"customer": jsonable(customer)}
    try:
        health = cs.customer_health(settings, customer_id=customer_id, history_weeks=8)
        facts["health"] = _rows(health.customers)[0]
        facts["health_recommendations"] = _rows(
            health.recommendations, drop=("customer_id", "priority_rank")
        )
        facts["health_history_weekly"] = _rows(health.history) if health.history is not None else []
    except ReportError as exc:
        facts["health"] = f"unavailable: {exc}"
    try:
        churn = cs.churn_predictions(settings, customer_id=customer_id, limit=1)
        row = churn.predictions.rows()[0]
        facts["churn_prediction"] = jsonable({k: v for k, v in row.items()
                                              if k not in ("total_matching", "total_expected_mrr_at_risk")})  # fmt: skip
        facts["churn_model_quality"] = {r["metric"]: r["value"] for r in churn.model_quality.rows()}
    except ReportError as exc:
        facts["churn_prediction"] = f"unavailable: {exc}"
    try:
        facts["usage_last_8_weeks"] = _rows(cs.engagement_series(settings, customer_id, 8))
    except ReportError as exc:
        facts["usage_last_8_weeks"] = f"unavailable: {exc}"
    tickets = cs.recent_tickets(settings, customer_id, 5)
    facts["recent_tickets"] = _rows(tickets, drop=("total_matching", "total_tickets"))
    facts["tickets_total"] = int(tickets.data["total_tickets"][0]) if tickets.data.height else 0
    return facts
