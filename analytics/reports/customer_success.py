"""Customer success reports: health, churn risk and interventions, expansion and customer value,
engagement and usage patterns, onboarding, NPS / feature adoption / time to value.

Every function reads the customer-success marts (`marts.fct_customer_health_*`,
`fct_customer_engagement_weekly`, `fct_usage_patterns`, `fct_onboarding_progress`, ...) and the
model outputs of the `analytics` dataset (`churn_predictions`, `churn_evaluation`,
`expansion_opportunities`) and returns `Report`s. The rules that turn signals into advice live here,
in one place, as data:

- `HEALTH_RULES`: health recommendations, one SQL condition per rule over
  `fct_customer_health_current` (the signal it reads, a priority, the action).
- `CHURN_FACTOR_ACTIONS` and `CHURN_TIERS`: interventions for a churn prediction, from its risk
  factors (the model's features) and its probability.
- `CHECK_IN_RULE`: who to check in with (usage declining, or health not low risk).

Window bounds are expressed with `row_number()` rather than date arithmetic so the SQL reads the
same on DuckDB and BigQuery.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import TYPE_CHECKING, Literal

import polars as pl

from analytics.reports.base import Report, ReportError, fetch
from analytics.settings import Settings
from analytics.warehouse import Freshness, run_query_with_freshness

if TYPE_CHECKING:
    from analytics.metrics.semantic_layer import MetricDefinition

MAX_LIMIT = 200
MAX_WEEKS = 104
RiskLevel = Literal["low", "medium", "high", "critical"]
UsageTrend = Literal["declining", "growing", "stable", "new"]
SuccessKind = Literal["nps", "feature_adoption", "time_to_value"]

HEALTH = "marts.fct_customer_health_current"
HEALTH_DAILY = "marts.fct_customer_health_daily"
CUSTOMERS = "marts.dim_customers"
MRR_DAILY = "marts.fct_mrr_daily"
CHURN = "analytics.churn_predictions"
CHURN_EVAL = "analytics.churn_evaluation"
EXPANSION = "analytics.expansion_opportunities"
ENGAGEMENT = "marts.fct_customer_engagement_weekly"
USAGE_PATTERNS = "marts.fct_usage_patterns"
ONBOARDING = "marts.fct_onboarding_progress"
MILESTONES = "staging.stg_supabase__onboarding_milestones"
TICKETS = "staging.stg_supabase__support_tickets"

# MRR of each customer on the last day of the MRR snapshot (0 / missing for churned customers).
_CURRENT_MRR_CTE = f"""current_mrr as (
    select customer_id, mrr as current_mrr
    from {MRR_DAILY}
    where date_day = (select max(date_day) from {MRR_DAILY})
)"""


# ---- health recommendation rules ----------------------------------------------------------------


@dataclass(frozen=True)
class HealthRule:
    """One recommendation: fires when `condition` (SQL over fct_customer_health_current) holds."""

    rule: str
    priority: Literal["high", "medium", "low"]
    category: str
    condition: str
    signal: str  # the column whose value is reported as evidence
    action: str


HEALTH_RULES: tuple[HealthRule, ...] = (
    HealthRule("save_plan", "high", "risk", "risk_level in ('high', 'critical')", "health_score",
               "Open a save plan: name an owner, agree success criteria with the customer and review weekly."),
    HealthRule("watch_list", "medium", "risk", "risk_level = 'medium'", "health_score",
               "Health is below this customer's usual level: review the main drag factor with the account "
               "owner at the next check-in."),
    HealthRule("declining_trend", "high", "trend", "trend = 'declining'", "score_change_28d",
               "Health is falling: schedule an executive-sponsor check-in this week to find the cause."),
    HealthRule("past_due", "high", "billing", "past_due_invoices > 0", "past_due_invoices",
               "Collect the past-due invoices: contact the billing owner and confirm the payment method."),
    HealthRule("failed_charges", "medium", "billing", "failed_charges_30d > 0 and past_due_invoices = 0",
               "failed_charges_30d", "Ask the customer to update the payment method before the next charge retry."),
    HealthRule("priority_tickets", "high", "support", "open_priority_tickets > 0", "open_priority_tickets",
               "Escalate the open urgent/high-priority tickets and agree a resolution date with the customer."),
    HealthRule("ticket_load", "medium", "support", "support_score < 35 and open_priority_tickets = 0", "tickets_30d",
               "Review the last 30 days of tickets for a recurring problem and offer a technical review."),
    HealthRule("usage_drop", "high", "usage", "usage_score < 25", "usage_score",
               "Usage has dropped: schedule a check-in to find blockers and agree a re-adoption plan."),
    HealthRule("usage_soft", "medium", "usage", "usage_score >= 25 and usage_score < 50", "usage_score",
               "Usage is softening: share usage insights and best practices for the plan's features."),
    HealthRule("low_engagement", "medium", "engagement", "engagement_score < 35", "engagement_score",
               "Few users are active: offer training and re-onboard the inactive seats."),
)  # fmt: skip
# Fires only when no rule above did.
NURTURE_RULE = HealthRule("nurture", "low", "nurture", "true", "health_score",
                          "Healthy: keep the regular cadence and look for expansion (expansion_opportunities).")  # fmt: skip
_PRIORITY_RANK = {"high": 1, "medium": 2, "low": 3}


def _q(text: str) -> str:
    """A SQL string literal of `text` (our own constant text, quotes doubled)."""
    return "'" + text.replace("'", "''") + "'"


def _rule_select(r: HealthRule, source: str, where: str) -> str:
    return (f"select customer_id, {_PRIORITY_RANK[r.priority]} as priority_rank, {_q(r.priority)} as priority, "
            f"{_q(r.rule)} as rule, {_q(r.category)} as category, {_q(r.signal)} as signal, "
            f"cast({r.signal} as double) as signal_value, {_q(r.action)} as action\n    from {source} where {where}")  # fmt: skip


def _rules_sql(source: str) -> str:
    return "\n    union all\n    ".join(_rule_select(r, source, r.condition) for r in HEALTH_RULES)


# ---- churn interventions ------------------------------------------------------------------------

# churn model feature -> (category, intervention). Features missing here fall back to a review.
CHURN_FACTOR_ACTIONS: dict[str, tuple[str, str]] = {
    "health_score": (
        "health",
        "Run a health review call: walk through the weakest health factors with the customer.",
    ),
    "health_change_28d": (
        "health",
        "Health dropped in the last 28 days: find what changed (team, project, issue).",
    ),
    "usage_score": ("usage", "Usage is low: agree a re-adoption plan with concrete usage goals."),
    "usage_trend": ("usage", "Usage is falling: check in with the technical owner about blockers."),
    "usage_trend_14d": (
        "usage",
        "Usage fell in the last two weeks: check in with the technical owner.",
    ),
    "requests_daily_30d": (
        "usage",
        "Low API volume: offer an integration review to deepen the use case.",
    ),
    "api_error_rate_30d": (
        "support",
        "High API error rate: have support engineering review their integration.",
    ),
    "engagement_score": (
        "engagement",
        "Few active users: offer training and re-onboard inactive seats.",
    ),
    "engagement_trend": ("engagement", "Engagement is falling: run a feature-adoption session."),
    "engagement_trend_14d": (
        "engagement",
        "Engagement fell in the last two weeks: run a feature-adoption session.",
    ),
    "active_users_30d": (
        "engagement",
        "Few active users: offer training and re-onboard inactive seats.",
    ),
    "active_users_per_seat": (
        "engagement",
        "Seats unused: help them activate seats or right-size the plan.",
    ),
    "feature_events_per_seat_30d": (
        "engagement",
        "Shallow feature use: recommend the features peers rely on.",
    ),
    "support_score": (
        "support",
        "Support issues weigh on the account: review and close the open tickets.",
    ),
    "tickets_90d": (
        "support",
        "Many tickets: look for a recurring root cause and fix it with the customer.",
    ),
    "high_priority_tickets_90d": (
        "support",
        "High-priority tickets: escalate and agree a resolution plan.",
    ),
    "avg_csat_90d": (
        "support",
        "Low support satisfaction: have a support lead follow up on recent tickets.",
    ),
    "low_csat_tickets_90d": (
        "support",
        "Low-rated tickets: have a support lead follow up on them.",
    ),
    "billing_score": (
        "billing",
        "Billing problems: resolve failed payments and past-due invoices.",
    ),
    "failed_payments_60d": (
        "billing",
        "Failed payments: ask the customer to update the payment method.",
    ),
    "mrr_change_90d": (
        "commercial",
        "MRR contracted: review the plan fit and the value delivered.",
    ),
    "cancellation_pending": (
        "commercial",
        "Cancellation pending: escalate to the account owner for a save offer.",
    ),
    "days_to_renewal": (
        "commercial",
        "Renewal is close: prepare a value review and the renewal proposal now.",
    ),
    "is_annual": (
        "commercial",
        "Monthly billing: offer an annual plan with a discount to lock in the renewal.",
    ),
    "tenure_months": (
        "onboarding",
        "Young account: check onboarding completion and time to value.",
    ),
    "last_nps": ("sentiment", "Low NPS: close the loop with the respondent on their feedback."),
    "days_since_nps": ("sentiment", "No recent feedback: ask for an NPS / feedback conversation."),
    "mrr": ("commercial", "Small account: move to a scaled (digital) success programme."),
    "seats": ("commercial", "Few seats: expand usage to more teams to raise switching costs."),
    "plan_tier": (
        "commercial",
        "Plan tier churns more: review plan fit and offer a better-suited plan.",
    ),
    "segment": ("commercial", "Segment churns more: apply the segment's retention playbook."),
}
# (minimum probability, tier, urgency action): first match wins.
CHURN_TIERS: tuple[tuple[float, str, str], ...] = (
    (0.5, "urgent", "Escalate now: executive save call within 7 days and a written save plan."),
    (0.25, "high", "Assign a CSM owner and hold a check-in within 14 days."),
    (0.1, "elevated", "Add to the watch list and reach out this month."),
    (0.0, "low", "No intervention: keep the regular cadence."),
)


def _tier_sql(col: str) -> str:
    whens = " ".join(f"when {col} >= {t} then '{name}'" for t, name, _ in CHURN_TIERS)
    return f"case {whens} end"


# ---- customers ----------------------------------------------------------------------------------


def customer_directory(settings: Settings) -> Report:
    """Every customer id with its name and segment, and whether it is a current customer."""
    sql = f"""
select c.customer_id, c.customer_name, c.segment, h.customer_id is not null as is_current_customer
from {CUSTOMERS} as c
left join {HEALTH} as h on h.customer_id = c.customer_id
order by c.customer_id
"""
    return fetch(settings, sql, (CUSTOMERS, HEALTH))


def check_customer(settings: Settings, customer_id: str) -> dict[str, object]:
    """The customer's directory row; a ReportError naming the closest valid ids if unknown."""
    rows = customer_directory(settings).data
    match = rows.filter(pl.col("customer_id") == customer_id)
    if match.height:
        return match.row(0, named=True)
    ids = rows["customer_id"].to_list()
    names = dict(zip(rows["customer_name"].str.to_lowercase().to_list(), ids, strict=True))
    if customer_id.strip().lower() in names:
        raise ReportError(f"{customer_id!r} is a customer name, not an id: pass customer_id "
                          f"{names[customer_id.strip().lower()]!r}")  # fmt: skip
    close = difflib.get_close_matches(customer_id, ids, n=5, cutoff=0.4)
    by_name = [
        names[n]
        for n in difflib.get_close_matches(customer_id.lower(), list(names), n=3, cutoff=0.6)
    ]
    suggestions = list(dict.fromkeys(close + by_name)) or ids[:5]
    raise ReportError(f"unknown customer_id {customer_id!r}; closest valid ids: {', '.join(suggestions)} "
                      "(customer_health lists current customers with their ids)")  # fmt: skip


def _not_current(customer_id: str, what: str) -> ReportError:
    return ReportError(f"no {what} for customer {customer_id!r}: it is not a current customer (no open "
                       "subscription on the as-of date); customer_health lists the current customers")  # fmt: skip


def _check_limit(limit: int, maximum: int = MAX_LIMIT) -> None:
    if not 1 <= limit <= maximum:
        raise ReportError(f"limit must be between 1 and {maximum}, got {limit}")


def _check_segment(settings: Settings, segment: str | None) -> None:
    if segment is None:
        return
    valid = customer_directory(settings).data["segment"].drop_nulls().unique().sort().to_list()
    if segment not in valid:
        raise ReportError(f"unknown segment {segment!r}; valid segments: {', '.join(valid)}")


# ---- health --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HealthResult:
    customers: Report  # one row per customer, worst first, with `total_matching`
    recommendations: (
        Report  # long: customer_id, priority, rule, category, signal, signal_value, action
    )
    history: Report | None  # weekly score points of one customer (when customer_id was given)


def customer_health(
    settings: Settings,
    customer_id: str | None = None,
    risk_levels: list[RiskLevel] | None = None,
    max_score: float | None = None,
    segment: str | None = None,
    trend: Literal["improving", "stable", "declining"] | None = None,
    limit: int = 25,
    history_weeks: int = 12,
) -> HealthResult:
    """Health score, factors, trend, risk level and main drag factor of current customers (worst
    first), the recommendations that fire for them (`HEALTH_RULES`) and, for one customer, its
    weekly score history over `history_weeks`."""
    _check_limit(limit)
    _check_segment(settings, segment)
    if max_score is not None and not 0 <= max_score <= 100:
        raise ReportError(f"max_score is a health score between 0 and 100, got {max_score}")
    where, params = [], []
    if customer_id is not None:
        check_customer(settings, customer_id)
        where.append("customer_id = ?")
        params.append(customer_id)
    if risk_levels:
        where.append(f"risk_level in ({', '.join('?' for _ in risk_levels)})")
        params.extend(risk_levels)
    if max_score is not None:
        where.append("health_score <= ?")
        params.append(max_score)
    if segment is not None:
        where.append("segment = ?")
        params.append(segment)
    if trend is not None:
        where.append("trend = ?")
        params.append(trend)
    sql = f"""
select customer_id, customer_name, segment, plan_tier, seats, as_of_date, customer_since, days_as_customer,
       health_score, usage_score, engagement_score, support_score, billing_score, risk_level, trend,
       score_change_28d, score_slope_28d, main_drag_factor, main_drag_points, api_requests_14d,
       active_users_28d, tickets_30d, open_priority_tickets, failed_charges_30d, past_due_invoices,
       count(*) over () as total_matching
from {HEALTH}
where {" and ".join(where) or "true"}
order by health_score, customer_id
limit ?
"""
    customers = fetch(settings, sql, (HEALTH,), [*params, limit])
    if customer_id is not None and customers.data.is_empty():
        raise _not_current(customer_id, "health score")
    ids = customers.data["customer_id"].to_list()
    recommendations = health_recommendations(settings, ids)
    history = (
        health_history(settings, customer_id, history_weeks) if customer_id is not None else None
    )
    return HealthResult(customers, recommendations, history)


def health_recommendations(settings: Settings, customer_ids: list[str]) -> Report:
    """The `HEALTH_RULES` that fire for each customer (the nurture rule when none does), most
    urgent first."""
    ids = customer_ids or ["<none>"]
    nr = NURTURE_RULE
    sql = f"""
with h as (
    select * from {HEALTH} where customer_id in ({", ".join("?" for _ in ids)})
),
fired as (
    {_rules_sql("h")}
)
select customer_id, priority_rank, priority, rule, category, signal, signal_value, action from fired
union all
{_rule_select(nr, "h", "customer_id not in (select customer_id from fired)")}
order by customer_id, priority_rank, rule
"""
    return fetch(settings, sql, (HEALTH,), list(ids))


def health_history(settings: Settings, customer_id: str, weeks: int = 12) -> Report:
    """One health point per week (every 7th day back from the latest) over `weeks` weeks."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ReportError(f"weeks must be between 1 and {MAX_WEEKS}, got {weeks}")
    sql = f"""
select date_day, health_score, usage_score, engagement_score, support_score, billing_score, risk_level, trend
from (
    select *, row_number() over (order by date_day desc) as days_back
    from {HEALTH_DAILY} where customer_id = ?
) as d
where mod(days_back - 1, 7) = 0 and days_back <= ?
order by date_day
"""
    return fetch(settings, sql, (HEALTH_DAILY,), [customer_id, weeks * 7 + 1])


# ---- churn ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChurnResult:
    predictions: (
        Report  # + risk_factors (list), recommended_actions (list of dicts), total_matching
    )
    model_quality: Report  # metric, value from analytics.churn_evaluation


def churn_predictions(
    settings: Settings,
    customer_id: str | None = None,
    min_probability: float = 0.0,
    limit: int = 25,
) -> ChurnResult:
    """Churn predictions (highest probability first) with the customer's name, current MRR and
    expected MRR at risk (probability x MRR), the intervention tier (`CHURN_TIERS`), the risk
    factors raising the probability and the interventions for them (`CHURN_FACTOR_ACTIONS`)."""
    _check_limit(limit)
    if not 0 <= min_probability <= 1:
        raise ReportError(
            f"min_probability is a probability between 0 and 1, got {min_probability}"
        )
    where, params = ["p.churn_probability >= ?"], [min_probability]
    if customer_id is not None:
        check_customer(settings, customer_id)
        where.append("p.customer_id = ?")
        params.append(customer_id)
    sql = f"""
with {_CURRENT_MRR_CTE}
select p.customer_id, c.customer_name, c.segment, p.churn_probability, p.churn_probability_30d,
       p.expected_days_to_churn, p.confidence, p.as_of, coalesce(m.current_mrr, 0) as current_mrr,
       p.churn_probability * coalesce(m.current_mrr, 0) as expected_mrr_at_risk,
       {_tier_sql("p.churn_probability")} as intervention_tier,
       h.health_score, h.risk_level, h.trend, cast(p.risk_factors as varchar) as risk_factors_json,
       count(*) over () as total_matching,
       sum(p.churn_probability * coalesce(m.current_mrr, 0)) over () as total_expected_mrr_at_risk
from {CHURN} as p
left join {CUSTOMERS} as c on c.customer_id = p.customer_id
left join current_mrr as m on m.customer_id = p.customer_id
left join {HEALTH} as h on h.customer_id = p.customer_id
where {" and ".join(where)}
order by p.churn_probability desc, p.customer_id
limit ?
"""
    report = fetch(settings, sql, (CHURN, CUSTOMERS, MRR_DAILY, HEALTH), [*params, limit])
    if customer_id is not None and report.data.is_empty():
        raise _not_current(customer_id, "churn prediction")
    factors, actions = [], []
    tier_action = {name: action for _, name, action in CHURN_TIERS}
    for row in report.data.iter_rows(named=True):
        raised = [
            f
            for f in json.loads(row["risk_factors_json"] or "[]")
            if (f.get("contribution") or 0) > 0
        ]
        factors.append(raised)
        acts = [
            {
                "category": "urgency",
                "action": tier_action[row["intervention_tier"]],
                "because": "churn_probability",
            }
        ]
        for f in raised:
            category, action = CHURN_FACTOR_ACTIONS.get(
                f["feature"], ("review", f"Review the account's {f['feature']} with the customer.")
            )
            if action not in {a["action"] for a in acts}:
                acts.append({"category": category, "action": action, "because": f["feature"]})
        actions.append(acts)
    data = report.data.drop("risk_factors_json").with_columns(
        pl.Series("risk_factors", factors, dtype=pl.Object), pl.Series("recommended_actions", actions, dtype=pl.Object)
    )  # fmt: skip
    predictions = Report(
        data=data, sql=report.sql, tables=report.tables, freshness=report.freshness
    )
    return ChurnResult(predictions, churn_model_quality(settings))


def churn_model_quality(settings: Settings) -> Report:
    """The churn model's evaluation on a held-out later snapshot (ROC AUC, PR AUC, Brier, base
    rate, counts, horizon)."""
    sql = f"""
select metric, value from {CHURN_EVAL}
where metric in ('roc_auc', 'pr_auc', 'brier', 'base_rate', 'n', 'n_churned', 'n_train', 'horizon_days', 'n_scored',
                 'roc_auc_30d', 'pr_auc_30d', 'brier_30d', 'base_rate_30d', 'n_churned_30d')
order by metric
"""
    return fetch(settings, sql, (CHURN_EVAL,))


# ---- expansion and customer value -----------------------------------------------------------------


def expansion_opportunities(
    settings: Settings,
    customer_id: str | None = None,
    priority: Literal["high", "medium", "none"] | None = None,
    limit: int = 25,
) -> Report:
    """Expansion opportunities (highest score first): upsell signals, score, suggested action."""
    _check_limit(limit)
    where, params = [], []
    if customer_id is not None:
        check_customer(settings, customer_id)
        where.append("customer_id = ?")
        params.append(customer_id)
    if priority is not None:
        where.append("priority = ?")
        params.append(priority)
    sql = f"""
select customer_id, customer_name, segment, as_of_date, plan_tier, current_mrr, expansion_score, priority,
       signal_count, suggested_action, near_usage_limit, seats_full, at_plan_seat_max, growing_fast,
       usage_pct_of_included, usage_growth, requests_30d, api_requests_included, seats, seats_included_max,
       seat_utilisation, active_users_30d, count(*) over () as total_matching
from {EXPANSION}
where {" and ".join(where) or "true"}
order by expansion_score desc, current_mrr desc, customer_id
limit ?
"""
    report = fetch(settings, sql, (EXPANSION,), [*params, limit])
    if customer_id is not None and report.data.is_empty():
        raise _not_current(customer_id, "expansion opportunity")
    return report


def customer_value_forecast(
    settings: Settings, customer_id: str, horizon_months: int = 12
) -> Report:
    """`analytics.expansion.value_forecast` for one customer over `horizon_months`, using the
    stored churn predictions (no retraining): expected MRR at the horizon and expected revenue."""
    from analytics.expansion import core as expansion

    if not 1 <= horizon_months <= 36:
        raise ReportError(f"horizon_months must be between 1 and 36, got {horizon_months}")
    check_customer(settings, customer_id)
    churn_sql = f"select customer_id, churn_probability from {CHURN}"
    horizon_sql = f"select value from {CHURN_EVAL} where metric = 'horizon_days'"
    preds, fresh = run_query_with_freshness(settings, churn_sql)
    horizon, _ = run_query_with_freshness(settings, horizon_sql)
    horizon_days = float(horizon["value"][0]) if horizon.height else 90.0
    stored = SimpleNamespace(predictions=preds, model=SimpleNamespace(horizon_days=horizon_days))
    frame = expansion.value_forecast(settings, horizon_months=horizon_months, churn_run=stored)
    frame = frame.filter(pl.col("customer_id") == customer_id)
    if frame.is_empty():
        raise ReportError(f"no value forecast for customer {customer_id!r}: it has no current MRR (not a paying "
                          "customer on the as-of date)")  # fmt: skip
    header = ("-- value forecast (analytics.expansion.value_forecast): expected MRR in month k = current MRR x "
              "exp(-lambda k) x (1 + g)^k, lambda from the 90-day churn probability, g = company monthly "
              "expansion rate x (0.5 + expansion score)")  # fmt: skip
    statements = [
        expansion.OPPORTUNITIES_SQL.strip(),
        expansion.EXPANSION_RATE_SQL.strip(),
        churn_sql,
        horizon_sql,
    ]
    sql = header + "\n" + "\n;\n".join(statements)
    tables = ("marts.fct_upsell_signals", "marts.fct_customer_mrr_monthly", CHURN, CHURN_EVAL)
    return Report(data=frame, sql=sql, tables=tables, freshness=fresh)


# ---- engagement and usage patterns ----------------------------------------------------------------


def engagement_series(settings: Settings, customer_id: str, weeks: int = 12) -> Report:
    """The customer's last `weeks` weeks of engagement, with the change in API requests and active
    users vs the week before."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ReportError(f"weeks must be between 1 and {MAX_WEEKS}, got {weeks}")
    check_customer(settings, customer_id)
    sql = f"""
select week_start, customer_days, seats, plan_tier, api_requests, api_errors, api_error_rate, active_api_days,
       max_endpoints_used, active_users, active_users_per_seat, feature_events, distinct_features, sessions_proxy,
       api_requests - prev_api_requests as api_requests_change,
       case when prev_api_requests > 0 then cast(api_requests - prev_api_requests as double) / prev_api_requests
       end as api_requests_change_pct,
       active_users - prev_active_users as active_users_change
from (
    select *,
           lag(api_requests) over (order by week_start) as prev_api_requests,
           lag(active_users) over (order by week_start) as prev_active_users,
           row_number() over (order by week_start desc) as weeks_back
    from {ENGAGEMENT} where customer_id = ?
) as w
where weeks_back <= ?
order by week_start
"""
    report = fetch(settings, sql, (ENGAGEMENT,), [customer_id, weeks])
    if report.data.is_empty():
        raise ReportError(
            f"no engagement data for customer {customer_id!r} (it has never been a paying customer)"
        )
    return report


_PATTERN_COLUMNS = """u.customer_id, c.customer_name, c.segment, u.is_current_customer, u.usage_trend,
       u.usage_ratio_28d_vs_prior_56d, u.avg_daily_requests_28d, u.avg_daily_requests_prior_56d,
       u.requests_last_28d, u.requests_84d, u.error_rate_28d, u.weekday_share, u.peak_endpoint,
       u.peak_endpoint_share, u.peak_iso_day_of_week, u.first_customer_day, u.pattern_end_date"""


def usage_pattern(settings: Settings, customer_id: str) -> Report:
    """The customer's usage pattern (trend, 28-day vs prior 56-day ratio, peak endpoint and day)."""
    sql = f"""
select {_PATTERN_COLUMNS}
from {USAGE_PATTERNS} as u
left join {CUSTOMERS} as c on c.customer_id = u.customer_id
where u.customer_id = ?
"""
    return fetch(settings, sql, (USAGE_PATTERNS, CUSTOMERS), [customer_id])


# Check in with a current customer whose usage is declining or whose health is not low risk.
CHECK_IN_RULE = "u.usage_trend = 'declining' or coalesce(h.risk_level, 'low') <> 'low'"


def usage_trend_overview(settings: Settings) -> Report:
    """Current customers per usage trend: count, MRR, average usage ratio and how many to check in."""
    sql = f"""
with {_CURRENT_MRR_CTE}
select u.usage_trend, count(*) as customers, sum(coalesce(m.current_mrr, 0)) as current_mrr,
       avg(u.usage_ratio_28d_vs_prior_56d) as avg_usage_ratio,
       count(case when {CHECK_IN_RULE} then 1 end) as check_in_due
from {USAGE_PATTERNS} as u
left join current_mrr as m on m.customer_id = u.customer_id
left join {HEALTH} as h on h.customer_id = u.customer_id
where u.is_current_customer
group by u.usage_trend
order by u.usage_trend
"""
    return fetch(settings, sql, (USAGE_PATTERNS, MRR_DAILY, HEALTH))


def usage_pattern_accounts(
    settings: Settings, usage_trend: UsageTrend | None = "declining", limit: int = 25
) -> Report:
    """Current customers with a usage trend (all when None), steepest decline first, with MRR,
    health and whether a check-in is due (`CHECK_IN_RULE`): the check-in list and campaign
    audience."""
    _check_limit(limit)
    where, params = ["u.is_current_customer"], []
    if usage_trend is not None:
        where.append("u.usage_trend = ?")
        params.append(usage_trend)
    sql = f"""
with {_CURRENT_MRR_CTE}
select {_PATTERN_COLUMNS}, coalesce(m.current_mrr, 0) as current_mrr, h.health_score, h.risk_level,
       case when {CHECK_IN_RULE} then true else false end as check_in_due,
       count(*) over () as total_matching
from {USAGE_PATTERNS} as u
left join {CUSTOMERS} as c on c.customer_id = u.customer_id
left join current_mrr as m on m.customer_id = u.customer_id
left join {HEALTH} as h on h.customer_id = u.customer_id
where {" and ".join(where)}
order by u.usage_ratio_28d_vs_prior_56d nulls last, current_mrr desc, u.customer_id
limit ?
"""
    return fetch(settings, sql, (USAGE_PATTERNS, CUSTOMERS, MRR_DAILY, HEALTH), [*params, limit])


# ---- onboarding -----------------------------------------------------------------------------------


def onboarding_progress(settings: Settings, customer_id: str) -> Report:
    """The customer's onboarding: milestones done, completion, last milestone, time to value."""
    check_customer(settings, customer_id)
    sql = f"""
select o.customer_id, c.customer_name, o.account_created_at, o.signup_month, o.milestones_completed,
       o.milestones_total, o.completion_pct, o.is_onboarding_complete, o.last_milestone, o.last_milestone_at,
       o.first_value_at, o.time_to_value_days, o.reached_value_within_target
from {ONBOARDING} as o
left join {CUSTOMERS} as c on c.customer_id = o.customer_id
where o.customer_id = ?
"""
    report = fetch(settings, sql, (ONBOARDING, CUSTOMERS), [customer_id])
    if report.data.is_empty():
        raise ReportError(f"no onboarding record for customer {customer_id!r}")
    return report


def onboarding_plan(settings: Settings, customer_id: str) -> Report:
    """Every onboarding milestone in step order: when this customer completed it, or, when not yet,
    how many accounts reach it and the median days after signup they take (the next steps)."""
    sql = f"""
with accounts as (
    select organization_id, customer_id, account_created_at from {ONBOARDING}
),
reached as (
    select m.organization_id, m.milestone, min(m.step) as step, min(m.completed_at) as completed_at
    from {MILESTONES} as m
    group by m.organization_id, m.milestone
),
typical as (
    select r.milestone, min(r.step) as step, count(*) as accounts_reached,
           median(extract(epoch from r.completed_at - a.account_created_at) / 86400.0) as median_days_after_signup
    from reached as r inner join accounts as a on a.organization_id = r.organization_id
    group by r.milestone
),
mine as (
    select r.milestone, r.completed_at,
           extract(epoch from r.completed_at - a.account_created_at) / 86400.0 as days_after_signup
    from reached as r inner join accounts as a on a.organization_id = r.organization_id
    where a.customer_id = ?
)
select t.step, t.milestone, mine.completed_at is not null as completed, mine.completed_at,
       mine.days_after_signup, t.median_days_after_signup,
       cast(t.accounts_reached as double) / (select count(*) from accounts) as share_of_accounts_reaching
from typical as t
left join mine on mine.milestone = t.milestone
order by t.step
"""
    return fetch(settings, sql, (ONBOARDING, MILESTONES), [customer_id])


def onboarding_funnel(settings: Settings, signup_start: dt.date | None = None,
                      signup_end: dt.date | None = None) -> Report:  # fmt: skip
    """Where onboarding stalls: per milestone (step order), accounts reaching it, conversion from the
    step before, median days after signup, and accounts whose furthest milestone it is without
    completing onboarding, for accounts that signed up in [signup_start, signup_end]."""
    _check_range(signup_start, signup_end)
    where, params = ["true"], []
    if signup_start is not None:
        where.append("signup_month >= ?")
        params.append(_month_start(signup_start))
    if signup_end is not None:
        where.append("signup_month <= ?")
        params.append(_month_start(signup_end))
    sql = f"""
with accounts as (
    select organization_id, account_created_at, is_onboarding_complete from {ONBOARDING}
    where {" and ".join(where)}
),
reached as (
    select m.organization_id, m.milestone, min(m.step) as step, min(m.completed_at) as completed_at
    from {MILESTONES} as m inner join accounts as a on a.organization_id = m.organization_id
    group by m.organization_id, m.milestone
),
furthest as (
    select r.organization_id, max(r.step) as furthest_step
    from reached as r inner join accounts as a on a.organization_id = r.organization_id
    where not a.is_onboarding_complete
    group by r.organization_id
),
steps as (
    select r.step, r.milestone, count(*) as accounts_reached,
           median(extract(epoch from r.completed_at - a.account_created_at) / 86400.0) as median_days_after_signup
    from reached as r inner join accounts as a on a.organization_id = r.organization_id
    group by r.step, r.milestone
)
select s.step, s.milestone, s.accounts_reached,
       cast(s.accounts_reached as double) / (select count(*) from accounts) as share_of_accounts,
       cast(s.accounts_reached as double) / lag(s.accounts_reached) over (order by s.step) as conversion_from_previous,
       s.median_days_after_signup,
       (select count(*) from furthest as f where f.furthest_step = s.step) as stalled_here,
       (select count(*) from accounts) as accounts
from steps as s
order by s.step
"""
    report = fetch(settings, sql, (ONBOARDING, MILESTONES), params)
    if report.data.is_empty():
        raise ReportError("no accounts signed up in that range: widen signup_start / signup_end")
    return report


def stalled_onboarding_accounts(settings: Settings, limit: int = 25) -> Report:
    """Accounts that have not completed onboarding, least complete and oldest first."""
    _check_limit(limit)
    sql = f"""
select o.customer_id, c.customer_name, c.segment, o.account_created_at, o.milestones_completed,
       o.milestones_total, o.completion_pct, o.last_milestone, o.last_milestone_at, o.time_to_value_days,
       h.customer_id is not null as is_current_customer, count(*) over () as total_matching
from {ONBOARDING} as o
left join {CUSTOMERS} as c on c.customer_id = o.customer_id
left join {HEALTH} as h on h.customer_id = o.customer_id
where not o.is_onboarding_complete
order by (h.customer_id is not null) desc, o.completion_pct, o.account_created_at, o.customer_id
limit ?
"""
    return fetch(settings, sql, (ONBOARDING, CUSTOMERS, HEALTH), [limit])


# ---- success metrics -------------------------------------------------------------------------------


def _month_start(d: dt.date) -> dt.date:
    return d.replace(day=1)


def _check_range(start: dt.date | None, end: dt.date | None) -> None:
    if start is not None and end is not None and start > end:
        raise ReportError(f"start {start} is after end {end}: swap them")


def time_to_value_monthly(
    settings: Settings, start: dt.date | None = None, end: dt.date | None = None
) -> Report:
    """Time to value per signup month: signups, reached value, median / p75 / average days, share
    of matured signups reaching value within the target."""
    _check_range(start, end)
    where, params = ["true"], []
    if start is not None:
        where.append("signup_month >= ?")
        params.append(_month_start(start))
    if end is not None:
        where.append("signup_month <= ?")
        params.append(end)
    sql = f"""
select signup_month as period, signups, reached_value, median_time_to_value_days, p75_time_to_value_days,
       avg_time_to_value_days, signups_matured, reached_value_within_target, share_value_within_target
from marts.fct_time_to_value_monthly
where {" and ".join(where)}
order by signup_month
"""
    return fetch(settings, sql, ("marts.fct_time_to_value_monthly",), params)


# ---- churn-risk brief facts --------------------------------------------------------------------------


def recent_tickets(settings: Settings, customer_id: str, limit: int = 5) -> Report:
    """The customer's most recent support tickets, with its total ticket count."""
    _check_limit(limit)
    sql = f"""
with org as (select organization_id from {CUSTOMERS} where customer_id = ?)
select t.ticket_id, t.subject, t.category, t.priority, t.status, t.csat_score, t.created_at, t.resolved_at,
       t.resolution_hours, count(*) over () as total_tickets
from {TICKETS} as t inner join org on org.organization_id = t.organization_id
order by t.created_at desc
limit ?
"""
    return fetch(settings, sql, (TICKETS, CUSTOMERS), [customer_id, limit])


@dataclass(frozen=True)
class SuccessMetricResult:
    """Rows of one success metric (most recent period first) and where they came from."""

    data: pl.DataFrame
    sql: list[str]
    tables: list[str]
    freshness: Freshness
    definitions: tuple[MetricDefinition, ...]


# kind -> governed metrics queried through `analytics.metrics` (grain month)
SUCCESS_METRICS: dict[str, tuple[str, ...]] = {
    "nps": ("nps", "nps_responses", "nps_promoters", "nps_detractors"),
    "feature_adoption": ("feature_adoption_rate", "feature_users", "feature_active_users"),
    "time_to_value": ("time_to_value_days",),
}


def success_metric(
    settings: Settings,
    kind: SuccessKind,
    start: dt.date | None = None,
    end: dt.date | None = None,
    segment: str | None = None,
    feature: str | None = None,
) -> SuccessMetricResult:
    """Monthly NPS (overall, or for one segment), feature adoption per feature, or time to value
    per signup month, from the governed metrics; time to value adds the median, p75 and the
    share reaching value within the target from `fct_time_to_value_monthly`."""
    from analytics import metrics

    if kind not in SUCCESS_METRICS:
        raise ReportError(f"unknown kind {kind!r}; valid: {', '.join(SUCCESS_METRICS)}")
    _check_range(start, end)
    if segment is not None and kind != "nps":
        raise ReportError("segment applies to kind='nps' only")
    if feature is not None and kind != "feature_adoption":
        raise ReportError("feature applies to kind='feature_adoption' only")
    _check_segment(settings, segment)
    dims: list[str] = []
    filters: dict[str, str] = {}
    if kind == "nps" and segment is not None:
        dims, filters = ["segment"], {"segment": segment}
    if kind == "feature_adoption":
        dims = ["feature"]
        if feature is not None:
            valid = fetch(settings, "select distinct feature from marts.fct_feature_adoption_monthly order by feature",
                          ("marts.fct_feature_adoption_monthly",)).data["feature"].to_list()  # fmt: skip
            if feature not in valid:
                raise ReportError(
                    f"unknown feature {feature!r}; valid features: {', '.join(valid)}"
                )
            filters = {"feature": feature}
    result = metrics.query(list(SUCCESS_METRICS[kind]), grain="month", dimensions=dims,
                           start=_month_start(start) if start else None, end=end, filters=filters or None,
                           order=["-period", *dims], settings=settings)  # fmt: skip
    data, sqls = result.data, [result.sql]
    # the tables behind the metrics, as schema.table (MetricFlow writes "db"."schema"."table")
    tables = sorted(
        {f"{m[0]}.{m[1]}" for m in re.findall(r'"?(marts|staging)"?\."?(\w+)"?', result.sql)}
    )
    if kind == "time_to_value":
        detail = time_to_value_monthly(settings, start, end)
        data = data.join(
            detail.data.drop("avg_time_to_value_days"), on="period", how="full", coalesce=True
        )
        data = data.sort("period", descending=True)
        sqls.append(detail.sql)
        tables.extend(detail.tables)
    return SuccessMetricResult(data, sqls, tables, result.freshness, result.metrics)
