"""Sales and marketing: lead scores and routing, the lead funnel, campaign performance, the sales
pipeline and sales performance (the seed's SalesMarketingMCP), read-only, plus a prompt that
grounds marketing content in the warehouse's facts.

Thin adapters over `analytics.reports.sales_marketing`: every number comes from its SQL (or the
governed metrics open_pipeline / weighted_pipeline); this module shapes arguments and results
and turns the analytics layer's errors into tool errors.

Not served here: createCampaign (a write); identifyUpsellOpportunities (the customer success
domain's `expansion_opportunities`); market intelligence (analyzeCompetitiveLandscape,
trackMarketTrends, identifyMarketOpportunities), for which this platform has no data.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import BaseModel, Field

from analytics.reports import sales_marketing as reports
from analytics.settings import Settings
from mcp_layer import completions
from mcp_layer.common import (
    READ_ONLY,
    Provenance,
    cell,
    definitions_of,
    grounded_prompt,
    json_rows,
    prompt_errors,
    tool_errors,
)

QualificationStatus = Literal["mql", "sql", "opportunity", "disqualified"]
CampaignSort = Literal["roi", "conversion_rate", "cost_per_acquisition", "spend", "start_date"]

ROUTING_RULE = (
    "converted leads -> customer_success; disqualified -> marketing_nurture; mql -> sdr; sql or opportunity -> "
    f"enterprise_ae (>= {reports.ENTERPRISE_MIN_EMPLOYEES} employees), mid_market_ae "
    f"(>= {reports.MID_MARKET_MIN_EMPLOYEES}), else smb_ae"
)
SCORING_RULE = (
    "total_score = 100 x the lead-scoring model's conversion probability; each breakdown score is 50 for an "
    "average lead on that group of signals, above 50 pushes towards conversion. qualification_status: "
    "opportunity >= 60 (or CRM at opportunity/customer), sql >= 35 (or CRM at sql), mql >= 10, else "
    "disqualified; a CRM disqualification always wins."
)


# ---- output models -----------------------------------------------------------------------------


class ScoreBreakdown(BaseModel):
    demographic: float = Field(
        description="Company size, job title, industry (0-100, 50 = average lead)"
    )
    behavioral: float = Field(description="Page and pricing-page views")
    engagement: float = Field(description="Email opens, webinar, campaign touch")
    intent: float = Field(description="Demo requested, lead source")


class Routing(BaseModel):
    queue: str = Field(
        description="customer_success, marketing_nurture, sdr, enterprise_ae, mid_market_ae or smb_ae"
    )
    rule: str = ROUTING_RULE


class LeadFacts(BaseModel):
    crm_status: str | None
    funnel_stage: str | None
    created_date: str | None
    lead_source: str | None
    campaign_id: str | None
    campaign_name: str | None
    campaign_channel: str | None
    employee_count: int | None
    industry: str | None
    country: str | None
    job_title: str | None
    page_views: int | None
    pricing_page_views: int | None
    email_opens: int | None
    webinar_attended: bool | None
    demo_requested: bool | None
    opportunity_count: int | None
    is_converted: bool | None
    customer_id: str | None


class LeadScore(BaseModel):
    lead_id: str
    total_score: float = Field(description="0-100: 100 x modelled conversion probability")
    score_percentile: float = Field(
        description="Share of all scored leads with a lower score (0-1)"
    )
    score_breakdown: ScoreBreakdown
    qualification_status: QualificationStatus
    next_actions: list[str]
    last_updated: str
    routing: Routing
    lead: LeadFacts


class LeadOpportunity(BaseModel):
    opportunity_id: str
    opportunity_name: str | None
    owner: str | None
    stage: str | None
    is_open: bool | None
    is_won: bool | None
    amount_reporting: float | None
    probability: float | None
    weighted_amount_reporting: float | None
    created_date: str | None
    close_date: str | None
    closed_date: str | None


class SalesInsight(BaseModel):
    opportunities: list[LeadOpportunity]
    lead_source: str | None
    source_leads: int | None
    source_conversion_rate: float | None = Field(
        description="Converted / leads of the lead's source, all time"
    )
    overall_conversion_rate: float | None
    avg_score_of_converted_leads: float | None
    campaign_name: str | None
    campaign_channel: str | None
    campaign_leads: int | None
    campaign_conversion_rate: float | None


class LeadScoreList(BaseModel):
    leads: list[LeadScore] = Field(description="Highest score first")
    total: int = Field(description="Leads matching the filters")
    truncated: bool
    model_quality: dict[str, float] = Field(
        description="Lead-scoring model evaluation on a later time split: roc_auc, precision_at_top_decile, "
        "brier, base_rate_test, ..."
    )
    scoring_rule: str = SCORING_RULE
    insight: SalesInsight | None = Field(
        None, description="For one lead_id: its opportunities and benchmarks"
    )
    provenance: Provenance


class FunnelStages(BaseModel):
    label: str = Field(description="Lead source, month (YYYY-MM-DD) or 'all'")
    leads: float
    mqls: float
    sqls: float
    opportunities: float
    customers: float
    disqualified: float
    still_new: float
    lead_to_mql_rate: float | None
    mql_to_sql_rate: float | None
    sql_to_opportunity_rate: float | None
    opportunity_to_customer_rate: float | None
    conversion_rate: float | None = Field(description="Customers / leads")
    avg_days_to_convert: float | None


class LeadFunnel(BaseModel):
    start_month: str
    end_month: str
    lead_source: str | None
    overall: FunnelStages
    by_source: list[FunnelStages]
    by_month: list[FunnelStages]
    note: str = ("Cohort view: leads created in each month and how far they have got so far; recent months "
                 "are still maturing.")  # fmt: skip
    provenance: Provenance


class CampaignMetrics(BaseModel):
    campaign_id: str
    campaign_name: str
    channel: str
    campaign_type: str | None
    status: str | None
    target_segment: str | None
    start_date: str | None
    end_date: str | None
    budget: float | None = Field(description="Reporting currency")
    spend: float | None = Field(description="Reporting currency")
    budget_used_pct: float | None
    leads: int
    mqls: int
    sqls: int
    opportunities: int
    conversions: int
    cost_per_lead: float | None
    cost_per_acquisition: float | None
    conversion_rate: float | None
    avg_days_to_convert: float | None
    won_amount: float | None = Field(
        description="First-year value of won opportunities, reporting currency"
    )
    roi: float | None = Field(description="ROI proxy = (won_amount - spend) / spend")
    channel_median_cpa: float | None
    cpa_vs_channel_median: float | None
    cpa_rank_in_channel: int | None = Field(description="1 = cheapest acquisition in its channel")
    campaigns_in_channel: int | None
    hint: str | None = Field(description="no_conversions, high_cpa, scale_up_candidate or null")


class ChannelMetrics(BaseModel):
    channel: str
    campaigns: int
    spend: float | None
    leads: float
    mqls: float
    sqls: float
    opportunities: float
    conversions: float
    won_amount: float | None
    cost_per_lead: float | None
    cost_per_acquisition: float | None
    conversion_rate: float | None
    roi: float | None
    channel_median_cpa: float | None


class OptimisationHint(BaseModel):
    hint_rank: int
    campaign_id: str
    campaign_name: str
    channel: str
    status: str | None
    hint: str = Field(description="no_conversions, high_cpa or scale_up_candidate")
    spend_at_stake: float | None = Field(
        description="no_conversions: all spend; high_cpa: spend above what the channel median CPA would have "
        "cost; scale_up_candidate: 0"
    )
    spend: float | None
    conversions: int
    cost_per_acquisition: float | None
    channel_median_cpa: float | None
    cpa_vs_channel_median: float | None


class CampaignPerformance(BaseModel):
    campaigns: list[CampaignMetrics]
    total: int
    truncated: bool
    channels: list[ChannelMetrics] = Field(
        description="Per channel over the selected campaigns, best conversion first"
    )
    optimisation_hints: list[OptimisationHint] = Field(
        description="Ranked: most spend at stake first"
    )
    hints_total: int
    lead_statuses: dict[str, int] | None = Field(
        None, description="For one campaign: its leads by CRM status"
    )
    hint_rules: str = (f"no_conversions: completed, spent, no lead converted; high_cpa: CPA > {reports.HIGH_CPA_RATIO}x "
                       f"the channel's median campaign CPA; scale_up_candidate: >= 2 conversions at CPA < 2/3 of "
                       "the channel median")  # fmt: skip
    provenance: Provenance


class StageSnapshot(BaseModel):
    period: str = Field(description="Month (first day); values are at the month-end snapshot")
    stage: str
    open_pipeline: float | None
    weighted_pipeline: float | None


class CloseMonth(BaseModel):
    close_month: str = Field(
        description="Expected close month, or 'overdue' (expected before the snapshot)"
    )
    deals: int
    amount: float | None
    weighted_amount: float | None


class PipelineForecastInfo(BaseModel):
    as_of: str = Field(description="Latest pipeline snapshot")
    open_deals: int
    open_amount: float
    weighted_amount: float = Field(
        description="Sum of open amount x stage probability: expected bookings"
    )
    overdue_deals: int
    overdue_weighted_amount: float
    avg_monthly_won_amount_3m: float | None
    coverage_vs_3m_bookings: float | None = Field(
        description="weighted_amount / avg monthly won amount (3 months)"
    )
    win_rate_6m: float | None = Field(description="Won / closed over the last 6 months")
    by_stage: list[StageSnapshot] = Field(
        description="Governed open_pipeline and weighted_pipeline, company-wide"
    )
    by_close_month: list[CloseMonth]


class OwnerPerformance(BaseModel):
    owner: str = Field(description="Sales owner, or 'team' for the total")
    opportunities_created: int
    created_amount: float | None
    opportunities_won: int
    opportunities_lost: int
    won_amount: float | None
    lost_amount: float | None
    win_rate: float | None = Field(description="Won / (won + lost)")
    avg_won_deal: float | None
    avg_days_to_win: float | None
    share_of_won_amount: float | None = None


class SalesPerformanceInfo(BaseModel):
    team: OwnerPerformance
    owners: list[OwnerPerformance] = Field(description="Most won amount first")
    by_month: list[dict[str, Any]]


class SalesPipeline(BaseModel):
    kind: Literal["forecast", "performance"]
    start_month: str
    end_month: str
    owner: str | None
    forecast: PipelineForecastInfo | None = None
    performance: SalesPerformanceInfo | None = None
    notes: list[str]
    provenance: Provenance


# ---- helpers -----------------------------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return None if value is None else str(cell(value))


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _pick(model: type[BaseModel], row: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """The row's values for the model's fields (dates as ISO strings), with overrides."""
    out = {k: cell(v) for k, v in row.items() if k in model.model_fields}
    return out | overrides


def _actions(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return [value]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]



def _stages(label: str, row: dict[str, Any]) -> FunnelStages:
    return FunnelStages(**_pick(FunnelStages, row, label=label))


def _owner(row: dict[str, Any]) -> OwnerPerformance:
    return OwnerPerformance(**_pick(OwnerPerformance, row, owner=row["owner"] or "team",
                                    opportunities_created=_int(row["opportunities_created"]),
                                    opportunities_won=_int(row["opportunities_won"]),
                                    opportunities_lost=_int(row["opportunities_lost"])))  # fmt: skip


def _lead(row: dict[str, Any]) -> LeadScore:
    return LeadScore(
        lead_id=row["lead_id"], total_score=row["total_score"], score_percentile=row["score_percentile"],
        score_breakdown=ScoreBreakdown(demographic=row["demographic"], behavioral=row["behavioral"],
                                       engagement=row["engagement"], intent=row["intent"]),
        qualification_status=row["qualification_status"], next_actions=_actions(row["next_actions"]),
        last_updated=str(cell(row["last_updated"])), routing=Routing(queue=row["routing_queue"]),
        lead=LeadFacts(**_pick(LeadFacts, row)),
    )  # fmt: skip


# ---- registration ------------------------------------------------------------------------------


def register(server: MCPServer, settings: Settings) -> None:
    """Add the sales and marketing tools and prompt to `server`."""

    @server.tool(title="Lead scores", annotations=READ_ONLY)
    def lead_scores(
        lead_id: Annotated[
            str | None,
            Field(
                max_length=64,
                description="One lead: adds its opportunities and the "
                "conversion rates of its source and campaign",
            ),
        ] = None,
        status: Annotated[
            QualificationStatus | None,
            Field(description="Only leads with this qualification status"),
        ] = None,
        min_score: Annotated[
            float | None, Field(ge=0, le=100, description="Only leads scoring at least this")
        ] = None,
        include_converted: Annotated[
            bool, Field(description="Also list leads that already became customers")
        ] = False,
        limit: Annotated[int, Field(ge=1, le=200, description="Most leads to return")] = 20,
    ) -> LeadScoreList:
        """Scored leads, best first: total score (modelled conversion probability x 100) with its
        breakdown (demographic, behavioral, engagement, intent), qualification status (mql, sql,
        opportunity, disqualified), next actions, a suggested routing queue and the lead's source,
        campaign and company facts, plus the scoring model's measured quality. Filter by status
        and minimum score to qualify prospects; pass lead_id for one prospect's sales insight."""
        with tool_errors():
            rep = reports.lead_scores(
                settings, lead_id, status, min_score, include_converted, limit
            )
        rows = rep.scores.rows()
        total = _int(rows[0]["total"]) if rows else 0
        insight = None
        if rep.opportunities is not None and rep.benchmarks is not None:
            bench = rep.benchmarks.data.row(0, named=True) if rep.benchmarks.data.height else {}
            insight = SalesInsight(
                opportunities=[LeadOpportunity(**_pick(LeadOpportunity, r)) for r in rep.opportunities.rows()],
                **{k: v for k, v in bench.items() if k in SalesInsight.model_fields})  # fmt: skip
        extra = [r for r in (rep.opportunities, rep.benchmarks) if r is not None]
        return LeadScoreList(
            leads=[_lead(r) for r in rows], total=total, truncated=total > len(rows),
            model_quality={r["metric"]: r["value"] for r in rep.evaluation.rows() if r["value"] is not None},
            insight=insight, provenance=Provenance.of_reports(rep.scores, rep.evaluation, *extra),
        )  # fmt: skip

    @server.tool(title="Lead funnel", annotations=READ_ONLY)
    def lead_funnel(
        start: Annotated[
            dt.date | None,
            Field(description="First month (any day in it); default: 11 months before end"),
        ] = None,
        end: Annotated[
            dt.date | None,
            Field(description="Last month (any day in it); default: the latest month"),
        ] = None,
        lead_source: Annotated[
            str | None,
            Field(
                max_length=64,
                description="One lead source, e.g. 'organic', 'paid_search', 'referral'",
            ),
        ] = None,
    ) -> LeadFunnel:
        """How leads progress: for the leads created in the months of the window, how many
        reached MQL, SQL, opportunity and customer, how many were disqualified or are still new,
        and the stage-to-stage conversion rates, in total, by lead source and by month. Use it
        for funnel health and to compare lead sources."""
        with tool_errors():
            rep = reports.lead_funnel(settings, start, end, lead_source)
        rows = rep.by_source.rows()
        overall = next(r for r in rows if r["lead_source"] is None)
        return LeadFunnel(
            start_month=rep.window.start.isoformat(), end_month=rep.window.end.isoformat(), lead_source=lead_source,
            overall=_stages(lead_source or "all", overall),
            by_source=[_stages(r["lead_source"], r) for r in rows if r["lead_source"] is not None],
            by_month=[_stages(str(cell(r["month_start"])), r) for r in rep.by_month.rows()],
            provenance=Provenance.of_reports(rep.by_source, rep.by_month),
        )  # fmt: skip

    @server.tool(title="Campaign performance", annotations=READ_ONLY)
    def campaign_performance(
        campaign_id: Annotated[
            str | None, Field(max_length=64, description="One campaign: its full report")
        ] = None,
        channel: Annotated[
            str | None,
            Field(max_length=64, description="One channel, e.g. 'email', 'paid_search', 'webinar'"),
        ] = None,
        start: Annotated[
            dt.date | None, Field(description="Campaigns running on or after this day")
        ] = None,
        end: Annotated[
            dt.date | None, Field(description="Campaigns that started on or before this day")
        ] = None,
        sort: Annotated[CampaignSort, Field(description="Order of the campaign list")] = "roi",
        limit: Annotated[
            int, Field(ge=1, le=100, description="Most campaigns and hints to return")
        ] = 20,
    ) -> CampaignPerformance:
        """Marketing campaign performance: spend, leads, MQLs, SQLs, conversions, cost per lead
        and per acquisition, conversion rate and an ROI proxy (won first-year value vs spend),
        each against its channel's median; per-channel totals; and optimisation hints ranked by
        the spend at stake (no conversions, CPA far above the channel median, candidates to scale
        up). Pass campaign_id for one campaign's report."""
        with tool_errors():
            rep = reports.campaigns(settings, campaign_id, channel, start, end, sort, limit)
        rows = rep.campaigns.rows()
        total = _int(rows[0]["total"]) if rows else 0
        hints = rep.hints.rows()
        ints = ("leads", "mqls", "sqls", "opportunities", "conversions")
        return CampaignPerformance(
            campaigns=[CampaignMetrics(**_pick(CampaignMetrics, r, budget=r["budget_reporting"],
                                               spend=r["spend_reporting"], won_amount=r["won_amount_reporting"],
                                               **{k: _int(r[k]) for k in ints})) for r in rows],
            total=total, truncated=total > len(rows),
            channels=[ChannelMetrics(**_pick(ChannelMetrics, r)) for r in rep.channels.rows()],
            optimisation_hints=[OptimisationHint(**_pick(OptimisationHint, r, spend=r["spend_reporting"],
                                                         conversions=_int(r["conversions"]))) for r in hints],
            hints_total=_int(hints[0]["total"]) if hints else 0,
            lead_statuses=({r["status"]: _int(r["leads"]) for r in rep.lead_statuses.rows()}
                           if rep.lead_statuses is not None else None),
            provenance=Provenance.of_reports(rep.campaigns, rep.channels, rep.hints,
                                             *([rep.lead_statuses] if rep.lead_statuses is not None else [])),
        )  # fmt: skip

    @server.tool(title="Sales pipeline", annotations=READ_ONLY)
    def sales_pipeline(
        kind: Annotated[
            Literal["forecast", "performance"],
            Field(
                description="forecast: open and weighted pipeline by stage and expected close month; performance: "
                "win rate and won amount per sales owner"
            ),
        ] = "forecast",
        start: Annotated[
            dt.date | None,
            Field(
                description="First month (any day in it); default: 6 months (forecast) "
                "or 12 months (performance) before end"
            ),
        ] = None,
        end: Annotated[
            dt.date | None,
            Field(description="Last month (any day in it); default: the latest month"),
        ] = None,
        owner: Annotated[
            str | None, Field(max_length=64, description="One sales owner, e.g. 'ava.chen'")
        ] = None,
    ) -> SalesPipeline:
        """The sales pipeline. kind='forecast': weighted pipeline (amount x stage probability, the
        governed metric) and open pipeline by stage at each month-end, the open deals by expected
        close month (overdue ones apart), and coverage of recent monthly bookings. kind=
        'performance': per sales owner and for the team, deals created, won and lost, won amount,
        win rate and days to win, plus the monthly trend. For upsell opportunities use the
        customer success domain's expansion_opportunities."""
        notes: list[str] = []
        with tool_errors():
            if kind == "forecast":
                fc = reports.pipeline_forecast(settings, start, end, owner)
            else:
                perf = reports.sales_performance(settings, start, end, owner)
        if kind == "forecast":
            s = fc.summary.data.row(0, named=True)
            by_stage = [StageSnapshot(period=str(cell(r["period"])), stage=r["stage"],
                                      open_pipeline=r["open_pipeline"], weighted_pipeline=r["weighted_pipeline"])
                        for r in fc.by_stage.data.iter_rows(named=True)]  # fmt: skip
            if owner:
                notes.append("by_stage is company-wide (the pipeline snapshots have no owner); the open deals, "
                             "close months, coverage and win rate are the owner's.")  # fmt: skip
            notes.append("Open deals are as of the latest snapshot; 'overdue' deals have an expected close date "
                         "before it and may need their dates updated.")  # fmt: skip
            info = PipelineForecastInfo(
                **_pick(PipelineForecastInfo, s, open_deals=_int(s["open_deals"]), overdue_deals=_int(s["overdue_deals"])),
                by_stage=by_stage,
                by_close_month=[CloseMonth(**_pick(CloseMonth, r, deals=_int(r["deals"])))
                                for r in fc.by_close_month.rows()],
            )  # fmt: skip
            prov = Provenance.of(sql=[fc.by_stage.sql, fc.summary.sql, fc.by_close_month.sql],
                                 tables=list(dict.fromkeys([*fc.summary.tables, *fc.by_close_month.tables])),
                                 freshness=fc.summary.freshness, definitions=definitions_of(fc.by_stage.metrics))  # fmt: skip
            return SalesPipeline(kind=kind, start_month=fc.window.start.isoformat(), end_month=fc.window.end.isoformat(),
                                 owner=owner, forecast=info, notes=notes, provenance=prov)  # fmt: skip
        rows = perf.by_owner.rows()
        notes.append(
            "Closed deals are counted in the month they closed; win rate = won / (won + lost)."
        )
        return SalesPipeline(
            kind=kind, start_month=perf.window.start.isoformat(), end_month=perf.window.end.isoformat(), owner=owner,
            performance=SalesPerformanceInfo(team=_owner(next(r for r in rows if r["owner"] is None)),
                                             owners=[_owner(r) for r in rows if r["owner"] is not None],
                                             by_month=json_rows(perf.by_month)),
            notes=notes, provenance=Provenance.of_reports(perf.by_owner, perf.by_month),
        )  # fmt: skip

    @server.prompt(title="Marketing content brief")
    def marketing_content_brief(
        topic: Annotated[
            str, Field(description="What the content is about, e.g. 'launch of the AI assistant'")
        ],
        audience_segment: Annotated[
            str | None,
            Field(
                description="Customer segment: smb, mid_market or enterprise "
                "(default: all customers)"
            ),
        ] = None,
    ) -> str:
        """Write marketing content (an email, a landing page, a post) on a topic for an audience
        segment, grounded in the warehouse's facts: the best channels and campaigns by conversion,
        the segment's customers and MRR, top industries, feature adoption and recent NPS."""
        with prompt_errors():
            facts = reports.content_brief_facts(settings, audience_segment or None)
        audience = (
            f"the {audience_segment} segment" if audience_segment else "all customer segments"
        )
        task = (
            f"Write a marketing content brief and a first draft on: {topic}. Audience: {audience}. Include the "
            "key message, proof points, the channel(s) to use and why, a call to action, and for email a subject "
            "line with two variants to test.\n"
            "Do not invent statistics, customer names or quotes. Pick channels from channels_by_conversion and "
            "best_campaigns_by_conversion, and say when a channel has too few leads to judge. Feature adoption "
            "rates are the share of active users using the feature in the latest month."
        )
        return grounded_prompt(task=task, facts=facts)

    def _segments(partial: str) -> list[str]:
        try:
            return reports.segments(settings)
        except Exception:  # noqa: BLE001 - completion is best effort
            return []

    completions.provide(server, "audience_segment", _segments)
