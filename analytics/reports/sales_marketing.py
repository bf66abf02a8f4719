"""Sales and marketing reports: lead scores, the lead funnel, campaign performance, the sales
pipeline and sales performance, and the facts behind marketing content briefs.

Every number is computed by the SQL here over the sales-marketing marts (`fct_leads`,
`fct_funnel_monthly`, `fct_campaign_performance`, `fct_opportunities`, `fct_pipeline_monthly`,
`fct_sales_performance_monthly`), the lead-scoring model's output (`analytics.lead_scores`,
`analytics.lead_scoring_evaluation`) and, for the pipeline by stage, the governed metrics
`open_pipeline` and `weighted_pipeline`. The Python here validates arguments and names rows.

Rules defined here (documented for the README):
- Lead routing queue (by qualification status, then lead company size): converted leads ->
  customer_success; disqualified -> marketing_nurture; mql -> sdr; sql / opportunity ->
  enterprise_ae (>= 400 employees), mid_market_ae (>= 40), else smb_ae. The size bands follow
  the customer segments' employee counts.
- Campaign ROI proxy = (won amount of the campaign's opportunities - spend) / spend, reporting
  currency; won amount is first-year contract value, so this understates lifetime return.
- Campaign optimisation hints, ranked by the spend they put at stake:
  `no_conversions` (a completed campaign that spent and converted no lead: all its spend),
  `high_cpa` (cost per acquisition above 1.5x its channel's median campaign CPA: the spend above
  what the median CPA would have cost), `scale_up_candidate` (two or more conversions at a CPA
  below 2/3 of the channel median: a candidate for more budget; nothing at stake).
- Pipeline coverage = weighted open pipeline / average monthly won amount of the last three
  months.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass

from analytics import metrics as metric_layer
from analytics.settings import Settings

from .base import Report, ReportError, fetch
from .base import closest as base_closest

QUALIFICATION_STATUSES = ("mql", "sql", "opportunity", "disqualified")
CAMPAIGN_SORTS = ("roi", "conversion_rate", "cost_per_acquisition", "spend", "start_date")
HIGH_CPA_RATIO = 1.5
SCALE_UP_CPA_RATIO = 2 / 3
ENTERPRISE_MIN_EMPLOYEES = 400
MID_MARKET_MIN_EMPLOYEES = 40
DEFAULT_MONTHS = 12
MAX_MONTHS = 36  # longest window a monthly report lists month by month
MIN_CAMPAIGN_LEADS_FOR_BEST = 5


def closest(value: str, valid: Sequence[str], n: int = 5) -> list[str]:
    """The valid values closest to `value` (prefix matches first, or the first few)."""
    prefix = [v for v in valid if v.lower().startswith(value.lower())][:n]
    return prefix or base_closest(value, valid, n)


def _distinct(settings: Settings, column: str, table: str) -> list[str]:
    rep = fetch(
        settings,
        f"select distinct {column} as v from {table} where {column} is not null order by v",
        (table,),
    )
    return [str(v) for v in rep.data.get_column("v").to_list()]


def _check(value: str | None, valid: Sequence[str], what: str) -> None:
    if value is not None and value not in valid:
        raise ReportError(
            f"unknown {what} {value!r}; closest valid values: {', '.join(closest(value, valid))}"
        )


@dataclass(frozen=True)
class MonthWindow:
    start: dt.date  # first month_start
    end: dt.date  # last month_start
    data_start: dt.date
    data_end: dt.date


def month_window(settings: Settings, start: dt.date | None, end: dt.date | None, table: str,
                 column: str = "month_start", default_months: int = DEFAULT_MONTHS) -> MonthWindow:  # fmt: skip
    """The months whose first day falls in [start's month, end]; default the last
    `default_months` months of data. Refuses inverted ranges and ranges without data."""
    if start and end and start > end:
        raise ReportError(f"start {start} is after end {end}: swap them")
    rep = fetch(settings, f"select min({column}) as a, max({column}) as b from {table}", (table,))
    first, last = rep.data.row(0)
    if first is None:
        raise ReportError(f"{table} is empty: run the pipeline (`psz demo`) first")
    end_m = min((end or last).replace(day=1), last)
    if start is None:
        y, m = divmod(end_m.year * 12 + end_m.month - 1 - (default_months - 1), 12)
        start_m = max(first, dt.date(y, m + 1, 1))
    else:
        start_m = max(first, start.replace(day=1))
    if start_m > last or (end is not None and end < first) or start_m > end_m:
        raise ReportError(f"no data between {start} and {end}: {table} covers {first} to {last}")
    months = (end_m.year - start_m.year) * 12 + end_m.month - start_m.month + 1
    if months > MAX_MONTHS:
        raise ReportError(
            f"the window spans {months} months; ask for at most {MAX_MONTHS} (narrow start or end)"
        )
    return MonthWindow(start=start_m, end=end_m, data_start=first, data_end=last)


# ---- leads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeadScoresReport:
    scores: Report  # one row per lead (with `total` before the limit)
    evaluation: Report  # metric, value of the lead-scoring model
    opportunities: Report | None  # the lead's opportunities (one lead only)
    benchmarks: Report | None  # conversion rates of the lead's source and campaign (one lead only)


def lead_ids(settings: Settings) -> list[str]:
    return _distinct(settings, "lead_id", "analytics.lead_scores")


_LEADS_SQL = f"""
    with s as (
        select *, percent_rank() over (order by total_score) as score_percentile
        from analytics.lead_scores
    )
    select
        s.lead_id, s.total_score, s.demographic, s.behavioral, s.engagement, s.intent, s.qualification_status,
        s.next_actions, s.last_updated, s.score_percentile,
        l.status as crm_status, l.funnel_stage, l.created_date, l.lead_source, l.campaign_id, l.campaign_name,
        l.campaign_channel, l.employee_count, l.industry, l.country, l.job_title, l.page_views,
        l.pricing_page_views, l.email_opens, l.webinar_attended, l.demo_requested, l.opportunity_count,
        l.is_converted, l.customer_id, l.days_to_convert,
        case
            when l.funnel_stage = 'customer' then 'customer_success'
            when s.qualification_status = 'disqualified' then 'marketing_nurture'
            when s.qualification_status = 'mql' then 'sdr'
            when coalesce(l.employee_count, 0) >= {ENTERPRISE_MIN_EMPLOYEES} then 'enterprise_ae'
            when coalesce(l.employee_count, 0) >= {MID_MARKET_MIN_EMPLOYEES} then 'mid_market_ae'
            else 'smb_ae'
        end as routing_queue,
        count(*) over () as total
    from s
    inner join marts.fct_leads as l on l.lead_id = s.lead_id"""
_LEAD_TABLES = ("analytics.lead_scores", "marts.fct_leads")


def lead_scores(settings: Settings, lead_id: str | None = None, status: str | None = None,
                min_score: float | None = None, include_converted: bool = False,
                limit: int = 20) -> LeadScoresReport:  # fmt: skip
    """Scored leads, best first, filtered by qualification status and minimum score (converted
    leads only when asked or when one lead is asked for). One `lead_id` adds its opportunities
    and the conversion rates of its source and campaign."""
    _check(status, QUALIFICATION_STATUSES, "qualification status")
    evaluation = fetch(settings, "select metric, value from analytics.lead_scoring_evaluation "
                                 "where model = 'lead_scoring' order by metric",
                       ("analytics.lead_scoring_evaluation",))  # fmt: skip
    if lead_id is not None:
        scores = fetch(settings, f"{_LEADS_SQL}\n    where s.lead_id = ?", _LEAD_TABLES, [lead_id])
        if scores.data.height == 0:
            raise ReportError(f"unknown lead_id {lead_id!r}; closest valid ids: "
                              f"{', '.join(closest(lead_id, lead_ids(settings)))}")  # fmt: skip
        opportunities = fetch(settings, """
            select opportunity_id, opportunity_name, owner, stage, is_open, is_won, is_lost, amount_reporting,
                   probability, weighted_amount_reporting, created_date, close_date, closed_date, days_to_close
            from marts.fct_opportunities
            where lead_id = ?
            order by created_date""", ("marts.fct_opportunities",), [lead_id])  # fmt: skip
        benchmarks = fetch(settings, """
            with me as (select lead_source, campaign_id from marts.fct_leads where lead_id = ?)
            select
                me.lead_source,
                (select count(*) from marts.fct_leads as x where x.lead_source = me.lead_source) as source_leads,
                (select avg(case when x.is_converted then 1.0 else 0.0 end) from marts.fct_leads as x
                 where x.lead_source = me.lead_source) as source_conversion_rate,
                (select avg(case when x.is_converted then 1.0 else 0.0 end) from marts.fct_leads as x)
                    as overall_conversion_rate,
                (select avg(s.total_score) from analytics.lead_scores as s
                 inner join marts.fct_leads as x on x.lead_id = s.lead_id where x.is_converted)
                    as avg_score_of_converted_leads,
                c.campaign_name,
                c.channel as campaign_channel,
                c.leads as campaign_leads,
                c.conversion_rate as campaign_conversion_rate
            from me
            left join marts.fct_campaign_performance as c on c.campaign_id = me.campaign_id""",
            ("marts.fct_leads", "analytics.lead_scores", "marts.fct_campaign_performance"), [lead_id])  # fmt: skip
        return LeadScoresReport(scores=scores, evaluation=evaluation, opportunities=opportunities,
                                benchmarks=benchmarks)  # fmt: skip
    clauses: list[str] = []
    params: list[object] = []
    if status:
        clauses.append("s.qualification_status = ?")
        params.append(status)
    if min_score is not None:
        clauses.append("s.total_score >= ?")
        params.append(float(min_score))
    if not include_converted:
        clauses.append("l.funnel_stage <> 'customer'")
    where = f"\n    where {' and '.join(clauses)}" if clauses else ""
    sql = f"{_LEADS_SQL}{where}\n    order by s.total_score desc, s.lead_id\n    limit {int(limit)}"
    return LeadScoresReport(scores=fetch(settings, sql, _LEAD_TABLES, params), evaluation=evaluation,
                            opportunities=None, benchmarks=None)  # fmt: skip


# ---- funnel ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunnelReport:
    window: MonthWindow
    lead_source: str | None
    by_source: Report  # per lead source over the window, plus lead_source = null for the total
    by_month: Report  # per month (all sources, or the chosen one)


def lead_sources(settings: Settings) -> list[str]:
    return _distinct(settings, "lead_source", "marts.fct_funnel_monthly")


_FUNNEL_COLUMNS = """
        sum(leads) as leads,
        sum(mqls) as mqls,
        sum(sqls) as sqls,
        sum(opportunities) as opportunities,
        sum(customers) as customers,
        sum(disqualified) as disqualified,
        sum(still_new) as still_new,
        sum(mqls) * 1.0 / nullif(sum(leads), 0) as lead_to_mql_rate,
        sum(sqls) * 1.0 / nullif(sum(mqls), 0) as mql_to_sql_rate,
        sum(opportunities) * 1.0 / nullif(sum(sqls), 0) as sql_to_opportunity_rate,
        sum(customers) * 1.0 / nullif(sum(opportunities), 0) as opportunity_to_customer_rate,
        sum(customers) * 1.0 / nullif(sum(leads), 0) as conversion_rate,
        sum(avg_days_to_convert * customers)
            / nullif(sum(case when avg_days_to_convert is not null then customers end), 0) as avg_days_to_convert"""


def lead_funnel(settings: Settings, start: dt.date | None = None, end: dt.date | None = None,
                lead_source: str | None = None) -> FunnelReport:  # fmt: skip
    """Lead funnel stage counts and stage-to-stage conversion rates (ratios of sums) of the leads
    created in the months of the window (default: the last 12 months of data)."""
    _check(lead_source, lead_sources(settings), "lead_source")
    w = month_window(settings, start, end, "marts.fct_funnel_monthly")
    where = "month_start between ? and ?" + (" and lead_source = ?" if lead_source else "")
    params: list[object] = [w.start, w.end] + ([lead_source] if lead_source else [])
    tables = ("marts.fct_funnel_monthly",)
    by_source = fetch(settings, f"""
        select lead_source,{_FUNNEL_COLUMNS}
        from marts.fct_funnel_monthly
        where {where}
        group by rollup (lead_source)
        order by lead_source nulls first""", tables, params)  # fmt: skip
    by_month = fetch(settings, f"""
        select month_start,{_FUNNEL_COLUMNS}
        from marts.fct_funnel_monthly
        where {where}
        group by month_start
        order by month_start""", tables, params)  # fmt: skip
    return FunnelReport(window=w, lead_source=lead_source, by_source=by_source, by_month=by_month)


# ---- campaigns ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignReport:
    campaigns: Report  # campaigns (with benchmarks, hint, `total`)
    channels: Report  # per channel over the selected campaigns
    hints: Report  # ranked optimisation hints over the selected campaigns
    lead_statuses: Report | None  # one campaign: its leads by CRM status


_CAMPAIGNS_CTE = f"""
    with medians as (
        select
            channel,
            median(cost_per_acquisition) as channel_median_cpa,
            median(cost_per_lead) as channel_median_cpl,
            median(conversion_rate) as channel_median_conversion_rate
        from marts.fct_campaign_performance
        group by channel
    ),
    base as (
        select
            c.*,
            (c.won_amount_reporting - c.spend_reporting) / nullif(c.spend_reporting, 0) as roi,
            c.mqls * 1.0 / nullif(c.leads, 0) as lead_to_mql_rate,
            m.channel_median_cpa,
            m.channel_median_cpl,
            m.channel_median_conversion_rate,
            c.cost_per_acquisition / nullif(m.channel_median_cpa, 0) as cpa_vs_channel_median,
            case when c.cost_per_acquisition is null then null
                 else rank() over (partition by c.channel, c.cost_per_acquisition is null
                                   order by c.cost_per_acquisition) end as cpa_rank_in_channel,
            count(*) over (partition by c.channel) as campaigns_in_channel
        from marts.fct_campaign_performance as c
        left join medians as m on m.channel = c.channel
    ),
    hinted as (
        select
            *,
            case
                when status = 'completed' and spend_reporting > 0 and conversions = 0 then 'no_conversions'
                when cpa_vs_channel_median > {HIGH_CPA_RATIO} then 'high_cpa'
                when conversions >= 2 and cpa_vs_channel_median < {SCALE_UP_CPA_RATIO} then 'scale_up_candidate'
            end as hint,
            case
                when status = 'completed' and spend_reporting > 0 and conversions = 0 then spend_reporting
                when cpa_vs_channel_median > {HIGH_CPA_RATIO}
                    then spend_reporting - conversions * channel_median_cpa
                else 0
            end as spend_at_stake
        from base
    )"""
_CAMPAIGN_ORDER = {
    "roi": "roi desc nulls last",
    "conversion_rate": "conversion_rate desc nulls last",
    "cost_per_acquisition": "cost_per_acquisition asc nulls last",
    "spend": "spend_reporting desc",
    "start_date": "start_date desc",
}


def campaign_names(settings: Settings) -> dict[str, str]:
    rep = fetch(settings, "select campaign_id, campaign_name from marts.fct_campaign_performance order by start_date desc",
                ("marts.fct_campaign_performance",))  # fmt: skip
    return dict(
        zip(rep.data["campaign_id"].to_list(), rep.data["campaign_name"].to_list(), strict=True)
    )


def campaigns(settings: Settings, campaign_id: str | None = None, channel: str | None = None,
              start: dt.date | None = None, end: dt.date | None = None, sort: str = "roi",
              limit: int = 20) -> CampaignReport:  # fmt: skip
    """Campaign performance (spend, leads, CPL, CPA, conversion, ROI proxy) with channel
    benchmarks and ranked optimisation hints, for campaigns running in the window (start_date
    <= end and end_date >= start) and of the channel; one `campaign_id` gives its report."""
    if sort not in CAMPAIGN_SORTS:
        raise ReportError(f"unknown sort {sort!r}; valid: {', '.join(CAMPAIGN_SORTS)}")
    if start and end and start > end:
        raise ReportError(f"start {start} is after end {end}: swap them")
    _check(channel, _distinct(settings, "channel", "marts.fct_campaign_performance"), "channel")
    clauses: list[str] = []
    params: list[object] = []
    if campaign_id is not None:
        names = campaign_names(settings)
        if campaign_id not in names:
            by_name = {v: k for k, v in names.items()}
            text = campaign_id.lower()
            close = [i for i in names if i.startswith(text)] + [
                by_name[n] for n in by_name if n.lower().startswith(text)
            ]
            close += [
                by_name[n]
                for n in difflib.get_close_matches(campaign_id, list(by_name), n=3, cutoff=0.5)
            ]
            close += difflib.get_close_matches(campaign_id, list(names), n=3, cutoff=0.5)
            close = list(dict.fromkeys(close))[:5] or list(names)[:5]
            raise ReportError(f"unknown campaign_id {campaign_id!r}; closest valid ids: "
                              + ", ".join(f"{i} ({names[i]})" for i in close))  # fmt: skip
        clauses.append("campaign_id = ?")
        params.append(campaign_id)
    if channel:
        clauses.append("channel = ?")
        params.append(channel)
    if end:
        clauses.append("start_date <= ?")
        params.append(end)
    if start:
        clauses.append("(end_date is null or end_date >= ?)")
        params.append(start)
    where = f"where {' and '.join(clauses)}" if clauses else ""
    tables = ("marts.fct_campaign_performance",)
    selected = f"{_CAMPAIGNS_CTE},\n    selected as (select * from hinted {where})"
    rows = fetch(settings, f"""{selected}
        select *, count(*) over () as total
        from selected
        order by {_CAMPAIGN_ORDER[sort]}, campaign_id
        limit {int(limit)}""", tables, params)  # fmt: skip
    if rows.data.height == 0:
        raise ReportError("no campaign matches these filters: widen the dates or drop the channel")
    channels = fetch(settings, f"""{selected}
        select
            channel,
            count(*) as campaigns,
            sum(spend_reporting) as spend,
            sum(leads) as leads,
            sum(mqls) as mqls,
            sum(sqls) as sqls,
            sum(opportunities) as opportunities,
            sum(conversions) as conversions,
            sum(won_amount_reporting) as won_amount,
            sum(spend_reporting) / nullif(sum(leads), 0) as cost_per_lead,
            sum(spend_reporting) / nullif(sum(conversions), 0) as cost_per_acquisition,
            sum(conversions) * 1.0 / nullif(sum(leads), 0) as conversion_rate,
            (sum(won_amount_reporting) - sum(spend_reporting)) / nullif(sum(spend_reporting), 0) as roi,
            max(channel_median_cpa) as channel_median_cpa
        from selected
        group by channel
        order by conversion_rate desc nulls last, channel""", tables, params)  # fmt: skip
    hints = fetch(settings, f"""{selected}
        select
            row_number() over (order by case when hint = 'scale_up_candidate' then 1 else 0 end,
                                        spend_at_stake desc, cpa_vs_channel_median, campaign_id) as hint_rank,
            campaign_id, campaign_name, channel, status, hint, spend_at_stake, spend_reporting, conversions,
            cost_per_acquisition, channel_median_cpa, cpa_vs_channel_median, count(*) over () as total
        from selected
        where hint is not null
        order by hint_rank
        limit {int(limit)}""", tables, params)  # fmt: skip
    statuses = None
    if campaign_id is not None:
        statuses = fetch(settings, """
            select status, count(*) as leads
            from marts.fct_leads
            where campaign_id = ?
            group by status
            order by leads desc, status""", ("marts.fct_leads",), [campaign_id])  # fmt: skip
    return CampaignReport(campaigns=rows, channels=channels, hints=hints, lead_statuses=statuses)


# ---- pipeline and sales performance -------------------------------------------------------------


def owners(settings: Settings) -> list[str]:
    return _distinct(settings, "owner", "marts.fct_sales_performance_monthly")


@dataclass(frozen=True)
class PipelineForecast:
    window: MonthWindow
    owner: str | None
    by_stage: (
        metric_layer.MetricResult
    )  # governed open_pipeline, weighted_pipeline by month and stage
    summary: Report  # current open pipeline, overdue, trailing won, coverage, win rate
    by_close_month: Report  # open deals by expected close month (overdue = before the snapshot)


def pipeline_forecast(settings: Settings, start: dt.date | None = None, end: dt.date | None = None,
                      owner: str | None = None) -> PipelineForecast:  # fmt: skip
    """The pipeline forecast: open and weighted pipeline by stage at each month-end in the window
    (default: the last 6 months; governed metrics, company-wide), and the open deals now (owner
    filter applies) by expected close month, with coverage of recent monthly bookings."""
    _check(owner, owners(settings), "owner")
    w = month_window(settings, start, end, "marts.fct_pipeline_monthly", default_months=6)
    month_end = dt.date(w.end.year + w.end.month // 12, w.end.month % 12 + 1, 1) - dt.timedelta(
        days=1
    )
    by_stage = metric_layer.query(["open_pipeline", "weighted_pipeline"], grain="month", dimensions=["stage"],
                                  start=w.start, end=month_end, order=["period", "stage"], settings=settings)  # fmt: skip
    owner_clause = " and owner = ?" if owner else ""
    owner_params: list[object] = [owner] if owner else []
    summary = fetch(settings, f"""
        with as_of as (select max(snapshot_date) as as_of from marts.fct_pipeline_monthly),
        open_deals as (
            select o.*, a.as_of
            from marts.fct_opportunities as o cross join as_of as a
            where o.is_open{owner_clause}
        ),
        perf as (
            select month_start, sum(won_amount) as won_amount, sum(opportunities_won) as won, sum(opportunities_lost) as lost
            from marts.fct_sales_performance_monthly
            where month_start <= (select as_of from as_of){owner_clause}
            group by month_start
        ),
        recent as (
            select * from perf order by month_start desc limit 3
        ),
        recent6 as (
            select * from perf order by month_start desc limit 6
        )
        select
            (select as_of from as_of) as as_of,
            (select count(*) from open_deals) as open_deals,
            (select coalesce(sum(amount_reporting), 0) from open_deals) as open_amount,
            (select coalesce(sum(weighted_amount_reporting), 0) from open_deals) as weighted_amount,
            (select count(*) from open_deals where close_date < as_of) as overdue_deals,
            (select coalesce(sum(weighted_amount_reporting), 0) from open_deals where close_date < as_of)
                as overdue_weighted_amount,
            (select avg(won_amount) from recent) as avg_monthly_won_amount_3m,
            (select coalesce(sum(weighted_amount_reporting), 0) from open_deals)
                / nullif((select avg(won_amount) from recent), 0) as coverage_vs_3m_bookings,
            (select sum(won) * 1.0 / nullif(sum(won) + sum(lost), 0) from recent6) as win_rate_6m""",
        ("marts.fct_pipeline_monthly", "marts.fct_opportunities", "marts.fct_sales_performance_monthly"),
        owner_params + owner_params)  # fmt: skip
    by_close = fetch(settings, f"""
        with as_of as (select max(snapshot_date) as as_of from marts.fct_pipeline_monthly)
        select
            case when o.close_date < a.as_of then 'overdue'
                 else cast(cast(date_trunc('month', o.close_date) as date) as varchar) end as close_month,
            count(*) as deals,
            sum(o.amount_reporting) as amount,
            sum(o.weighted_amount_reporting) as weighted_amount
        from marts.fct_opportunities as o
        cross join as_of as a
        where o.is_open{owner_clause}
        group by 1
        order by case when close_month = 'overdue' then 0 else 1 end, close_month""",
        ("marts.fct_pipeline_monthly", "marts.fct_opportunities"), owner_params)  # fmt: skip
    return PipelineForecast(
        window=w, owner=owner, by_stage=by_stage, summary=summary, by_close_month=by_close
    )


@dataclass(frozen=True)
class SalesPerformance:
    window: MonthWindow
    owner: str | None
    by_owner: Report  # per owner over the window, plus owner = null for the team
    by_month: Report  # per month (team, or the chosen owner)


_PERFORMANCE_COLUMNS = """
        sum(opportunities_created) as opportunities_created,
        sum(created_amount) as created_amount,
        sum(opportunities_won) as opportunities_won,
        sum(opportunities_lost) as opportunities_lost,
        sum(won_amount) as won_amount,
        sum(lost_amount) as lost_amount,
        sum(opportunities_won) * 1.0 / nullif(sum(opportunities_won) + sum(opportunities_lost), 0) as win_rate,
        sum(won_amount) / nullif(sum(opportunities_won), 0) as avg_won_deal,
        sum(avg_days_to_win * opportunities_won)
            / nullif(sum(case when avg_days_to_win is not null then opportunities_won end), 0) as avg_days_to_win"""


def sales_performance(settings: Settings, start: dt.date | None = None, end: dt.date | None = None,
                      owner: str | None = None) -> SalesPerformance:  # fmt: skip
    """Sales performance per owner over the months of the window (default: the last 12 months):
    deals created, won and lost, won amount, win rate (won / closed) and days to win."""
    _check(owner, owners(settings), "owner")
    w = month_window(settings, start, end, "marts.fct_sales_performance_monthly")
    where = "month_start between ? and ?" + (" and owner = ?" if owner else "")
    params: list[object] = [w.start, w.end] + ([owner] if owner else [])
    tables = ("marts.fct_sales_performance_monthly",)
    by_owner = fetch(settings, f"""
        select
            owner,{_PERFORMANCE_COLUMNS},
            sum(won_amount) / nullif(sum(sum(won_amount)) over (partition by grouping(owner)), 0) as share_of_won_amount
        from marts.fct_sales_performance_monthly
        where {where}
        group by rollup (owner)
        order by owner is not null, won_amount desc, owner""", tables, params)  # fmt: skip
    by_month = fetch(settings, f"""
        select month_start,{_PERFORMANCE_COLUMNS}
        from marts.fct_sales_performance_monthly
        where {where}
        group by month_start
        order by month_start""", tables, params)  # fmt: skip
    return SalesPerformance(window=w, owner=owner, by_owner=by_owner, by_month=by_month)


# ---- content brief facts ------------------------------------------------------------------------


def segments(settings: Settings) -> list[str]:
    return _distinct(settings, "segment", "marts.dim_customers")


def content_brief_facts(
    settings: Settings, audience_segment: str | None = None
) -> dict[str, Report]:
    """The facts a marketing content brief may use: best channels and campaigns by conversion
    (for the segment when given), the segment's customers and MRR, top industries, feature
    adoption highlights and recent NPS."""
    _check(audience_segment, segments(settings), "audience_segment")
    seg_clause = " and target_segment = ?" if audience_segment else ""
    seg: list[object] = [audience_segment] if audience_segment else []
    camp = ("marts.fct_campaign_performance",)
    facts = {
        "channels_by_conversion": fetch(
            settings,
            f"""
            select
                channel,
                count(*) as campaigns,
                sum(leads) as leads,
                sum(conversions) as conversions,
                sum(conversions) * 1.0 / nullif(sum(leads), 0) as conversion_rate,
                sum(spend_reporting) / nullif(sum(conversions), 0) as cost_per_acquisition,
                (sum(won_amount_reporting) - sum(spend_reporting)) / nullif(sum(spend_reporting), 0) as roi
            from marts.fct_campaign_performance
            where 1 = 1{seg_clause}
            group by channel
            order by conversion_rate desc nulls last, channel""",
            camp,
            seg,
        ),
        "best_campaigns_by_conversion": fetch(
            settings,
            f"""
            select campaign_id, campaign_name, channel, campaign_type, target_segment, start_date, end_date, leads,
                   conversions, conversion_rate, cost_per_acquisition
            from marts.fct_campaign_performance
            where leads >= {MIN_CAMPAIGN_LEADS_FOR_BEST}{seg_clause}
            order by conversion_rate desc, leads desc, campaign_id
            limit 5""",
            camp,
            seg,
        ),
        "segments": fetch(
            settings,
            """
            with latest as (select max(month_start) as m from marts.fct_customer_mrr_monthly)
            select
                segment,
                max(month_start) as month_start,
                sum(case when end_mrr > 0 then 1 else 0 end) as paying_customers,
                sum(end_mrr) as mrr,
                sum(end_mrr) / nullif(sum(case when end_mrr > 0 then 1 else 0 end), 0) as arpa,
                sum(end_mrr) / nullif(sum(sum(end_mrr)) over (), 0) as share_of_mrr,
                sum(expansion_mrr) as expansion_mrr_this_month,
                sum(churned_mrr) as churned_mrr_this_month
            from marts.fct_customer_mrr_monthly
            where month_start = (select m from latest)
            group by segment
            order by mrr desc""",
            ("marts.fct_customer_mrr_monthly",),
        ),
        "top_industries": fetch(
            settings,
            f"""
            select industry, count(*) as customers, count(*) * 1.0 / sum(count(*)) over () as share
            from marts.dim_customers
            where 1 = 1{" and segment = ?" if audience_segment else ""}
            group by industry
            order by customers desc, industry
            limit 5""",
            ("marts.dim_customers",),
            seg,
        ),
        "feature_adoption": fetch(
            settings,
            """
            select month_start, feature, user_adoption_rate, organization_adoption_rate, feature_users, share_of_events
            from marts.fct_feature_adoption_monthly
            where month_start = (select max(month_start) from marts.fct_feature_adoption_monthly)
            order by user_adoption_rate desc, feature""",
            ("marts.fct_feature_adoption_monthly",),
        ),
        "nps_recent": fetch(
            settings,
            """
            select month_start, segment, responses, promoters, passives, detractors, nps, average_score
            from marts.fct_nps_monthly
            where segment = ? and month_start in (
                select distinct month_start from marts.fct_nps_monthly order by month_start desc limit 3)
            order by month_start desc""",
            ("marts.fct_nps_monthly",),
            [audience_segment or "all"],
        ),
    }
    return facts
