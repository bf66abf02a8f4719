"""The application database (Supabase / PostgreSQL) of the demo company.

Tables: organizations, users, feature_events, support_tickets, nps_responses,
onboarding_milestones, campaigns, leads, opportunities, budgets. Every table has a primary key
`id` and an `updated_at` column (the incremental cursor of the live loader).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from . import catalog
from .activity import Activity
from .customers import INITIAL_BASE_SHARE, arrival_weights
from .ids import IdFactory
from .model import Customer
from .timeline import DAY, UTC, month_starts, to_datetime, ts

Rows = list[dict[str, Any]]
TS = pa.timestamp("us", tz="UTC")
# Seat fill = members / paid seats. Most organisations leave some seats unassigned (Beta(4, 3):
# mean 0.57, p10 ~0.33, p90 ~0.80); a minority is full or a little over (a true-up at renewal).
SEAT_FILL_BETA = (4.0, 3.0)
SEAT_FILL_FULL_SHARE = 0.08
SEAT_FILL_FULL_RANGE = (0.95, 1.2)
EVENTS_PER_MEMBER_WEEK = 1.5  # ~6.4 feature events per member in 30 days: ~99.8% of members active
# Go to market: the sales and marketing budget buys new paying customers at this planned CAC
# (usd, fully loaded); campaigns (programme spend) are ~CAMPAIGN_SHARE of it.
PLANNED_CAC_USD = 15_500.0
CAMPAIGN_SHARE = 0.2


def _dt(seconds: float | int) -> dt.datetime:
    return to_datetime(int(seconds))


class AppTables:
    def __init__(self, rng: np.random.Generator, ids: IdFactory, customers: list[Customer], act: Activity,
                 start: dt.date, end: dt.date) -> None:  # fmt: skip
        self.rng, self.ids, self.customers, self.act = rng, ids, customers, act
        self.start, self.end = start, end
        self.horizon = ts(end) + DAY - 1
        self.users_by_org: dict[str, list[str]] = {}

    def build(self) -> dict[str, pa.Table]:
        campaigns = self.campaigns()
        tables = {
            "organizations": self.organizations(),
            "users": self.users(),
        }
        tables["feature_events"] = self.feature_events()
        tables["support_tickets"] = self.support_tickets()
        tables["nps_responses"] = self.nps_responses()
        tables["onboarding_milestones"] = self.onboarding()
        tables["campaigns"] = pa.Table.from_pylist(campaigns)
        leads = self.leads(campaigns)
        tables["leads"] = pa.Table.from_pylist(leads)
        tables["opportunities"] = pa.Table.from_pylist(self.opportunities(leads))
        tables["budgets"] = pa.Table.from_pylist(self.budgets())
        return tables

    # ------------------------------------------------------------ accounts
    def organizations(self) -> pa.Table:
        rows = []
        for c in self.customers:
            created = c.created - int(self.rng.uniform(60, 3600))
            rows.append({
                "id": c.organization_id, "name": c.name, "slug": c.email_domain.split(".")[0],
                "stripe_customer_id": c.customer_id, "industry": c.industry,
                "employee_count": c.employees, "country": c.country, "acquisition_channel": c.lead_source,
                "created_at": _dt(created), "updated_at": _dt(min(self.horizon, (c.lifetime_end or self.horizon))),
            })  # fmt: skip
        return pa.Table.from_pylist(rows)

    def users(self) -> pa.Table:
        """Members per organisation: its seats x its seat fill (see SEAT_FILL_*), at least one."""
        rows = []
        t0 = ts(self.start)
        self.seat_fill = np.where(
            self.rng.random(len(self.customers)) < SEAT_FILL_FULL_SHARE,
            self.rng.uniform(*SEAT_FILL_FULL_RANGE, len(self.customers)),
            self.rng.beta(*SEAT_FILL_BETA, len(self.customers)),
        )
        for i, c in enumerate(self.customers):
            n = max(1, round(float(max(1, self.act.seats[i].max())) * self.seat_fill[i]))
            active_days = np.nonzero(self.act.seats[i] > 0)[0]
            last_active = t0 + int(active_days[-1]) * DAY if active_days.size else c.created
            ids = []
            joined = np.sort(self.rng.uniform(0, 60, n))  # teammates join over the first two months
            for k in range(n):
                uid = self.ids.uuid("user")
                ids.append(uid)
                created = c.created + (0 if k == 0 else int(joined[k] * DAY))
                created = min(created, self.horizon - DAY)
                seen = min(self.horizon, max(created, last_active - int(self.rng.uniform(0, 10) * DAY)))
                rows.append({
                    "id": uid, "organization_id": c.organization_id,
                    "email": f"user{k + 1}@{c.email_domain}",
                    "role": "owner" if k == 0 else ("admin" if k < 3 else "member"),
                    "created_at": _dt(created), "last_sign_in_at": _dt(seen), "updated_at": _dt(seen),
                })  # fmt: skip
            self.users_by_org[c.organization_id] = ids
        return pa.Table.from_pylist(rows)

    # ------------------------------------------------------------ engagement
    def feature_events(self) -> pa.Table:
        """Weekly feature use per organisation: each member holding a seat that week (the first
        seats x fill members) uses features EVENTS_PER_MEMBER_WEEK times on average, less in the
        churn decline. So users active in 30 days stay near seats x fill: at or below the paid
        seats for most organisations, near or over them for the SEAT_FILL_FULL_SHARE minority."""
        n_days = len(self.act.days)
        weeks = np.arange(0, n_days, 7)
        t0 = ts(self.start)
        feats = np.array(catalog.FEATURES, dtype=object)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in ("org", "user", "feat", "at")}
        for i, c in enumerate(self.customers):
            seats = self.act.seats[i][weeks]
            if not seats.any():
                continue
            users = self.users_by_org[c.organization_id]
            pool = np.where(seats > 0, np.clip(np.round(seats * self.seat_fill[i]), 1, len(users)), 0).astype(np.int64)
            lam = pool * EVENTS_PER_MEMBER_WEEK * self.act.decline[i][weeks]
            counts = self.rng.poisson(lam)
            total = int(counts.sum())
            if total == 0:
                continue
            prefs = self.rng.dirichlet(np.full(len(feats), 0.6))
            week_of = np.repeat(weeks, counts)
            at = t0 + week_of * DAY + self.rng.uniform(0, 7 * DAY, total).astype(np.int64)
            parts["org"].append(np.full(total, c.organization_id, dtype=object))
            member = (self.rng.random(total) * np.repeat(pool, counts)).astype(np.int64)
            parts["user"].append(np.array(users, dtype=object)[member])
            parts["feat"].append(feats[self.rng.choice(len(feats), total, p=prefs)])
            parts["at"].append(np.minimum(at, self.horizon))
        at = np.concatenate(parts["at"])
        order = np.argsort(at, kind="stable")
        stamps = (at[order] * 1_000_000).astype("datetime64[us]")
        return pa.table({
            "id": pa.array(np.arange(1, at.size + 1, dtype=np.int64)),
            "organization_id": pa.array(np.concatenate(parts["org"])[order], pa.string()),
            "user_id": pa.array(np.concatenate(parts["user"])[order], pa.string()),
            "feature": pa.array(np.concatenate(parts["feat"])[order], pa.string()),
            "occurred_at": pa.array(stamps, TS),
            "updated_at": pa.array(stamps, TS),
        })  # fmt: skip

    def support_tickets(self) -> pa.Table:
        rows: Rows = []
        t0 = ts(self.start)
        outage_idx = np.nonzero(self.act.outage_days)[0]
        for i, c in enumerate(self.customers):
            active = self.act.seats[i] > 0
            if not active.any():
                continue
            pain = self.act.decline[i] < 0.9  # inside the pre-churn decline
            lam = np.where(active, 0.004 * np.sqrt(self.act.seats[i]) * np.where(pain, 5.0, 1.0), 0.0)
            lam[outage_idx] += np.where(active[outage_idx], 0.25, 0.0)
            for d in np.nonzero(self.rng.poisson(lam))[0]:
                opened = t0 + int(d) * DAY + int(self.rng.uniform(7, 19) * 3600)
                outage = bool(self.act.outage_days[d])
                category = "performance" if outage else str(self.rng.choice(
                    catalog.TICKET_CATEGORIES, p=[0.35, 0.25, 0.15, 0.1, 0.15] if not pain[d] else [0.15, 0.35, 0.25, 0.2, 0.05]))
                hours = float(self.rng.lognormal(2.3 if not pain[d] else 3.2, 0.9))
                resolved = opened + int(hours * 3600)
                is_open = resolved > self.horizon
                csat = None
                if not is_open and self.rng.random() < 0.65:
                    probs = [0.30, 0.35, 0.2, 0.1, 0.05] if pain[d] or outage else [0.02, 0.04, 0.12, 0.37, 0.45]
                    csat = int(self.rng.choice([1, 2, 3, 4, 5], p=probs))
                users = self.users_by_org[c.organization_id]
                rows.append({
                    "id": self.ids.uuid("ticket"), "organization_id": c.organization_id,
                    "opened_by": users[int(self.rng.integers(0, len(users)))],
                    "subject": f"{category.replace('_', ' ').title()} question",
                    "category": category,
                    "priority": "urgent" if outage else str(self.rng.choice(["low", "normal", "high"], p=[0.3, 0.55, 0.15])),
                    "status": "open" if is_open else "solved",
                    "created_at": _dt(opened), "resolved_at": None if is_open else _dt(resolved),
                    "csat_score": csat, "updated_at": _dt(min(self.horizon, resolved)),
                })  # fmt: skip
        return pa.Table.from_pylist(rows, schema=pa.schema([
            ("id", pa.string()), ("organization_id", pa.string()), ("opened_by", pa.string()),
            ("subject", pa.string()), ("category", pa.string()), ("priority", pa.string()),
            ("status", pa.string()), ("created_at", TS), ("resolved_at", TS), ("csat_score", pa.int64()),
            ("updated_at", TS),
        ]))  # fmt: skip

    def nps_responses(self) -> pa.Table:
        """A quarterly in-app survey; unhappy (pre-churn) accounts answer low."""
        rows: Rows = []
        t0 = ts(self.start)
        survey_days = [i for i, d in enumerate(self.act.days) if d.day == 15 and d.month in (1, 4, 7, 10)]
        for i, c in enumerate(self.customers):
            users = self.users_by_org[c.organization_id]
            for d in survey_days:
                if self.act.seats[i, d] <= 0:
                    continue
                pain = self.act.decline[i, d] < 0.9
                for u in users[: min(len(users), 5)]:
                    if self.rng.random() > 0.3:
                        continue
                    p = np.array([1, 1, 1, 2, 2, 3, 5, 9, 14, 9, 4] if pain else [0.3, 0.3, 0.4, 0.5, 0.7, 1.5, 3, 8, 15, 20, 14], float)
                    score = int(self.rng.choice(11, p=p / p.sum()))
                    at = t0 + (d + int(self.rng.integers(0, 10))) * DAY + int(self.rng.uniform(0, DAY))
                    if at > self.horizon:
                        continue
                    rows.append({
                        "id": self.ids.uuid("nps"), "organization_id": c.organization_id, "user_id": u,
                        "score": score, "comment": None if self.rng.random() < 0.7 else
                        ("Love the dashboards" if score >= 9 else "Too slow and pricey" if score <= 6 else "Good overall"),
                        "survey": f"{self.act.days[d]:%Y}-Q{(self.act.days[d].month - 1) // 3 + 1}",
                        "created_at": _dt(at), "updated_at": _dt(at),
                    })  # fmt: skip
        return pa.Table.from_pylist(rows)

    def onboarding(self) -> pa.Table:
        rows: Rows = []
        for c in self.customers:
            engaged = c.trial_converts and not c.warning_signals
            p_done = 0.92 if engaged else 0.55
            speed = self.rng.lognormal(0, 0.5) * (1.0 if engaged else 2.0)
            for k, (milestone, median_days) in enumerate(catalog.ONBOARDING_MILESTONES):
                if k > 0 and self.rng.random() > p_done:
                    break
                at = c.created + int(median_days * speed * DAY) + int(self.rng.uniform(0, 6 * 3600))
                if at > self.horizon:
                    break
                rows.append({
                    "id": self.ids.uuid("milestone"), "organization_id": c.organization_id,
                    "milestone": milestone, "step": k + 1, "completed_at": _dt(at), "updated_at": _dt(at),
                })  # fmt: skip
        return pa.Table.from_pylist(rows)

    # ------------------------------------------------------------ go to market
    def planned_new_customers(self) -> np.ndarray:
        """New paying customers the company plans for each month: its arrival curve times the
        share of sign-ups expected to pay (trials convert at TRIAL_CONVERSION)."""
        trial_share = sum(
            p * (1 - catalog.SEGMENT_ANNUAL_SHARE[s]) * catalog.TRIAL_SHARE for s, p in catalog.SEGMENTS if s != "enterprise"
        )
        paying_share = 1 - trial_share * (1 - catalog.TRIAL_CONVERSION)
        arrivals = len(self.customers) * (1 - INITIAL_BASE_SHARE)  # the initial base was not bought here
        return arrivals * paying_share * arrival_weights(month_starts(self.start, self.end))

    def campaigns(self) -> Rows:
        rows: Rows = []
        planned = self.planned_new_customers()
        for k, m in enumerate(month_starts(self.start, self.end)):
            n_campaigns = int(self.rng.integers(3, 6))
            per_campaign = PLANNED_CAC_USD * planned[k] * CAMPAIGN_SHARE / n_campaigns
            for _ in range(n_campaigns):
                channel, ctype = catalog.CAMPAIGN_CHANNELS[int(self.rng.integers(0, len(catalog.CAMPAIGN_CHANNELS)))]
                start = m + dt.timedelta(days=int(self.rng.integers(0, 20)))
                end = start + dt.timedelta(days=int(self.rng.integers(14, 60)))
                budget = float(max(100.0, round(per_campaign * self.rng.uniform(0.3, 1.7), -2)))
                frac = min(1.0, max(0.0, (self.end - start).days / max(1, (end - start).days)))
                spend = round(budget * self.rng.uniform(0.8, 1.05) * frac, 2)
                status = "completed" if end <= self.end else "active"
                rows.append({
                    "id": self.ids.uuid("campaign"), "name": f"{start:%Y-%m} {channel.replace('_', ' ')} #{len(rows) + 1}",
                    "channel": channel, "type": ctype, "status": status,
                    "start_date": start, "end_date": end, "budget": budget, "spend": spend,
                    "target_segment": str(self.rng.choice([s for s, _ in catalog.SEGMENTS])),
                    "created_at": dt.datetime.combine(start, dt.time(9), UTC) - dt.timedelta(days=7),
                    "updated_at": dt.datetime.combine(min(end, self.end), dt.time(18), UTC),
                })  # fmt: skip
        return rows

    def _campaign_for(self, campaigns: Rows, day: dt.date, source: str) -> str | None:
        live = [c for c in campaigns if c["start_date"] <= day <= c["end_date"] and (c["channel"] == source or source in ("organic", "referral") and c["channel"] == "content")]
        return live[int(self.rng.integers(0, len(live)))]["id"] if live and source not in ("outbound",) else None

    def leads(self, campaigns: Rows) -> Rows:
        rows: Rows = []
        by_customer = {c.customer_id: c for c in self.customers}
        for c in by_customer.values():  # every customer came in as a lead
            created = c.created - int(self.rng.uniform(3, 40) * DAY)
            rows.append(self._lead(c.lead_source, created, campaigns, converted=c, status="customer"))
        n_other = len(self.customers) * 5
        span = self.horizon - ts(self.start)
        growth = self.rng.power(1.6, n_other)  # more leads later: the funnel grows with the company
        for g in growth:
            created = ts(self.start) + int(g * span)
            age_days = (self.horizon - created) / DAY
            r = self.rng.random()
            if age_days < 30 and r < 0.5:
                status = "new"
            elif r < 0.55:
                status = "disqualified"
            elif r < 0.8:
                status = "mql"
            elif r < 0.93:
                status = "sql"
            else:
                status = "opportunity"
            src = str(self.rng.choice(catalog.LEAD_SOURCES, p=[0.3, 0.22, 0.16, 0.08, 0.1, 0.14]))
            rows.append(self._lead(src, created, campaigns, converted=None, status=status))
        return rows

    def _lead(self, source: str, created: int, campaigns: Rows, converted: Customer | None, status: str) -> dict[str, Any]:
        warm = converted is not None or status in ("sql", "opportunity")
        cold = status == "disqualified"
        k = 2.2 if warm else (0.5 if cold else 1.0)
        employees = converted.employees if converted else int(self.rng.lognormal(3.3, 1.1))
        day = _dt(created).date()
        return {
            "id": self.ids.uuid("lead"),
            "email": f"{self.ids.uuid('lead-email')[:8]}@prospect.example" if converted is None else f"first@{converted.email_domain}",
            "company": converted.name if converted else f"Prospect {int(self.rng.integers(1e6))}",
            "source": source, "campaign_id": self._campaign_for(campaigns, day, source),
            "status": status, "converted_organization_id": converted.organization_id if converted else None,
            "employee_count": employees, "industry": converted.industry if converted else str(self.rng.choice(catalog.INDUSTRIES)),
            "country": converted.country if converted else str(self.rng.choice([c[0] for c in catalog.COUNTRIES])),
            "job_title": str(self.rng.choice(["Engineer", "Engineering Manager", "VP Engineering", "CTO", "Data Analyst", "Student"],
                                             p=[0.3, 0.2, 0.12, 0.08, 0.2, 0.1] if not warm else [0.22, 0.3, 0.2, 0.15, 0.12, 0.01])),
            "page_views": int(self.rng.poisson(6 * k)), "pricing_page_views": int(self.rng.poisson(1.2 * k)),
            "email_opens": int(self.rng.poisson(3 * k)), "webinar_attended": bool(self.rng.random() < 0.1 * k),
            "demo_requested": bool(self.rng.random() < (0.45 if warm else 0.04)),
            "created_at": _dt(created), "updated_at": _dt(min(self.horizon, created + int(self.rng.uniform(0, 30) * DAY))),
        }  # fmt: skip

    def opportunities(self, leads: Rows) -> Rows:
        rows: Rows = []
        by_org = {c.organization_id: c for c in self.customers}
        stages = dict(catalog.OPPORTUNITY_STAGES)
        for lead in leads:
            org = by_org.get(lead["converted_organization_id"] or "")
            if org is not None and org.segment != "smb":
                first_seg = next((s for s in org.segments if s.paying), None)
                amount = (first_seg.seats if first_seg else org.seats) * catalog.TIERS[catalog.TIER_INDEX[(first_seg or org).tier]].seat_price_usd_cents * 12 / 100
                if org.trial_converts:
                    stage, closed = "closed_won", org.created
                elif org.created + 14 * DAY < self.horizon:  # the trial lapsed: lost when it ended
                    stage, closed = "closed_lost", org.created + 14 * DAY
                else:  # still trialing at the horizon
                    stage, closed = "negotiation", None
            elif lead["status"] == "opportunity":
                # most worked opportunities are lost (win rates of 20-30% are typical in B2B SaaS)
                stage = str(self.rng.choice(["prospecting", "qualification", "proposal", "negotiation", "closed_lost"], p=[0.15, 0.15, 0.12, 0.08, 0.5]))
                amount = float(round(self.rng.lognormal(9.3, 0.8), -2))
                closed = None
            elif lead["status"] == "sql" and self.rng.random() < 0.6:
                stage, amount, closed = "closed_lost", float(round(self.rng.lognormal(9.0, 0.8), -2)), None
            else:
                continue
            created = int(lead["created_at"].timestamp()) + int(self.rng.uniform(2, 20) * DAY)
            created = min(created, self.horizon - DAY)
            if closed is None and stage == "closed_lost":
                closed = min(self.horizon, created + int(self.rng.uniform(10, 60) * DAY))
            close_date = _dt(closed).date() if closed else (_dt(created) + dt.timedelta(days=int(self.rng.integers(20, 90)))).date()
            rows.append({
                "id": self.ids.uuid("opportunity"), "lead_id": lead["id"],
                "organization_id": lead["converted_organization_id"],
                "name": f"{lead['company']} - new business", "stage": stage,
                "amount": round(float(amount), 2), "currency": "usd", "probability": stages[stage],
                "owner": str(self.rng.choice(catalog.SALES_REPS)),
                "created_at": _dt(min(created, closed or created)), "close_date": close_date,
                "closed_at": _dt(closed) if closed else None,
                "updated_at": _dt(max(closed or created, created)),
            })  # fmt: skip
        return rows

    def budgets(self) -> Rows:
        """Sales and marketing: the planned CAC x the planned new customers of the month; the
        other departments grow 3% a month from a base sized for the company."""
        rows: Rows = []
        base = {"infrastructure": 30_000, "research_development": 140_000,
                "customer_success": 30_000, "general_admin": 45_000}  # fmt: skip
        scale = max(0.05, len(self.customers) / 1000)
        planned = self.planned_new_customers()
        for k, m in enumerate(month_starts(self.start, self.end)):
            for dept in catalog.DEPARTMENTS:
                if dept == "sales_marketing":
                    amount = PLANNED_CAC_USD * planned[k]
                else:
                    amount = base[dept] * scale * (1.03**k)
                rows.append({
                    "id": self.ids.uuid("budget"), "month": m, "department": dept,
                    "amount": round(amount, 2), "currency": "usd",
                    "created_at": dt.datetime.combine(m, dt.time(), UTC) - dt.timedelta(days=20),
                    "updated_at": dt.datetime.combine(m, dt.time(), UTC) - dt.timedelta(days=20),
                })  # fmt: skip
        return rows
