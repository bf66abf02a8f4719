"""Simulate Stripe billing for the demo customers and emit Stripe-shaped objects.

Rules mirror Stripe's defaults: monthly plans put prorations on the next invoice
(`create_prorations`), annual plans invoice prorations at once (`always_invoice`); a failed
charge is retried by Smart Retries after 3, 5 and 7 days, and after the last failure the
subscription is canceled and the invoice marked uncollectible; metered usage is billed in
arrears; a `once` coupon applies to the first paid invoice, `repeating` until the discount ends.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import catalog
from . import stripe_shapes as shapes
from .ids import IdFactory
from .model import Anomaly, ChurnTruth, Customer, PlanSegment
from .timeline import DAY, add_months, to_date, ts

Obj = dict[str, Any]
RETRY_OFFSETS = (0, 3 * DAY, 5 * DAY, 7 * DAY)
FEEDBACK = ("too_expensive", "missing_features", "switched_service", "unused", "low_quality", "other")


@dataclass
class StripeAccount:
    """Everything the Stripe list endpoints would return at the horizon."""

    products: list[Obj] = field(default_factory=list)
    prices: list[Obj] = field(default_factory=list)
    coupons: list[Obj] = field(default_factory=list)
    customers: list[Obj] = field(default_factory=list)
    subscriptions: list[Obj] = field(default_factory=list)
    invoices: list[Obj] = field(default_factory=list)
    charges: list[Obj] = field(default_factory=list)
    refunds: list[Obj] = field(default_factory=list)
    events: list[Obj] = field(default_factory=list)

    def tables(self) -> dict[str, list[Obj]]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass
class _Sub:
    """A subscription's mutable state while it is simulated."""

    sid: str
    customer: Customer
    cust_obj: Obj
    price: Obj
    quantity: int
    si: str
    created: int
    anchor: int
    trial: tuple[int, int] | None
    period: tuple[int, int]
    discount: Obj | None
    metered: tuple[str, Obj] | None  # (subscription item id, metered price)
    addon: bool
    status: str = "active"
    cancel_at_period_end: bool = False
    cancel_at: int | None = None
    canceled_at: int | None = None
    ended_at: int | None = None
    cancel_reason: str | None = None
    feedback: str | None = None
    latest_invoice: str | None = None
    paid_invoices: int = 0


class BillingSimulator:
    def __init__(
        self, rng: np.random.Generator, ids: IdFactory, start: dt.date, end: dt.date,
        anomalies: list[Anomaly],
    ) -> None:  # fmt: skip
        self.rng, self.ids = rng, ids
        self.start, self.horizon = ts(start), ts(end) + DAY  # horizon: exclusive
        self.account = StripeAccount()
        self.churn: list[ChurnTruth] = []
        self._dips = [(ts(a.start), ts(a.end), a.magnitude) for a in anomalies if a.kind == "revenue_dip"]
        self._invoice_no: dict[str, int] = {}
        self._coupon_uses: dict[str, int] = {}
        self._build_catalog()

    # ---------------------------------------------------------------- catalogue
    def _build_catalog(self) -> None:
        created = self.start - 30 * DAY
        self.price_by_key: dict[str, Obj] = {}
        for tier in catalog.TIERS:
            meta = {"tier": tier.key, "api_requests_included": str(tier.api_requests_included),
                    "seats_included_max": str(tier.seats_included_max)}  # fmt: skip
            prod = shapes.product(self.ids.stripe("prod"), tier.key, tier.name, created, meta)
            self.account.products.append(prod)
            for cur in catalog.CURRENCIES:
                monthly = round(tier.seat_price_usd_cents * catalog.PRICE_FACTOR[cur])
                for interval, amount in (("month", monthly), ("year", monthly * catalog.ANNUAL_MONTHS_CHARGED)):
                    self._add_price(prod, cur, amount, interval, "licensed", f"{tier.key}_{interval}ly_{cur}", created)
        for key, name, usd, usage in (
            (catalog.ADDON_KEY, catalog.ADDON_NAME, catalog.ADDON_PRICE_USD_CENTS, "licensed"),
            (catalog.OVERAGE_KEY, catalog.OVERAGE_NAME, catalog.OVERAGE_PRICE_USD_CENTS, "metered"),
        ):
            prod = shapes.product(self.ids.stripe("prod"), key, name, created, {"tier": key})
            self.account.products.append(prod)
            for cur in catalog.CURRENCIES:
                amount = round(usd * catalog.PRICE_FACTOR[cur])
                self._add_price(prod, cur, amount, "month", usage, f"{key}_monthly_{cur}", created)

    def _add_price(self, prod: Obj, cur: str, amount: int, interval: str, usage: str, key: str, created: int) -> None:
        p = shapes.price(self.ids.stripe("price"), prod["id"], cur, amount, interval, usage, key, created)
        self.account.prices.append(p)
        self.price_by_key[key] = p

    def finish(self) -> StripeAccount:
        created = self.start - 30 * DAY
        self.account.coupons = [
            shapes.coupon(c, created, self._coupon_uses.get(c.id, 0)) for c in catalog.COUPONS
        ]
        # list endpoints return newest first
        for rows in self.account.tables().values():
            rows.sort(key=lambda o: o["created"], reverse=True)
        return self.account

    # ---------------------------------------------------------------- customers
    def run_customer(self, c: Customer) -> None:
        pm = f"pm_{c.customer_id[4:]}"
        cust = shapes.customer(
            c.customer_id, c.name, f"billing@{c.email_domain}", c.country, c.currency, c.created, pm,
            {"organization_id": c.organization_id, "segment": c.segment}, delinquent=False,
        )
        self.account.customers.append(cust)
        self._event("customer.created", c.created, cust)
        main_end = self._run_main(c, cust, c.created, first=True)
        if c.addon_start is not None:
            self._run_addon(c, cust, main_end)
        if c.reactivate_at is not None and main_end is not None and c.reactivate_at > main_end:
            c.churn_request, c.churn_kind = None, None  # the second life runs to the horizon
            c.trial, c.coupon = False, None
            self._run_main(c, cust, c.reactivate_at, first=False)
        cust["delinquent"] = any(
            s["status"] == "past_due" for s in self.account.subscriptions[-3:] if s["customer"] == c.customer_id
        )

    def _new_sub(self, c: Customer, cust: Obj, price: Obj, qty: int, start: int, trial_days: int,
                 coupon: str | None, addon: bool) -> _Sub:  # fmt: skip
        sid = self.ids.stripe("sub")
        trial = (start, start + trial_days * DAY) if trial_days else None
        anchor = trial[1] if trial else start
        discount = None
        if coupon is not None:
            cp = next(x for x in catalog.COUPONS if x.id == coupon)
            end = add_months(start, cp.duration_in_months) if cp.duration == "repeating" else None
            cobj = shapes.coupon(cp, self.start - 30 * DAY, 0)
            discount = shapes.discount(self.ids.stripe("di"), cobj, c.customer_id, sid, start, end)
            self._coupon_uses[coupon] = self._coupon_uses.get(coupon, 0) + 1
        metered = None
        if not addon and c.tier in ("scale", "enterprise") and c.interval == "month":
            metered = (self.ids.stripe("si"), self.price_by_key[f"{catalog.OVERAGE_KEY}_monthly_{c.currency}"])
        first_end = trial[1] if trial else self._period_end(start, price, anchor)
        return _Sub(
            sid=sid, customer=c, cust_obj=cust, price=price, quantity=qty, si=self.ids.stripe("si"),
            created=start, anchor=anchor, trial=trial, period=(start, first_end), discount=discount,
            metered=metered, addon=addon, status="trialing" if trial else "active",
        )  # fmt: skip

    def _period_end(self, start: int, price: Obj, anchor: int) -> int:
        months = 12 if price["recurring"]["interval"] == "year" else 1
        return add_months(start, months, anchor_day=int(to_date(anchor).day))

    def _run_main(self, c: Customer, cust: Obj, start: int, first: bool) -> int | None:
        """Run the customer's main subscription; returns when it ended (None if it still runs)."""
        price = self.price_by_key[f"{c.tier}_{c.interval}ly_{c.currency}"]
        s = self._new_sub(c, cust, price, c.seats, start, 14 if (first and c.trial) else 0, c.coupon, addon=False)
        self._event("customer.subscription.created", start, self._snapshot(s))
        if s.trial:
            self._invoice(s, start, "subscription_create", (start, start), [self._line(s, 0, s.period, "Trial period")])
            c.segments.append(PlanSegment(start, min(s.trial[1], self.horizon), c.tier, c.seats, paying=False))
            if s.trial[1] >= self.horizon:
                self._store(s)
                return None
            if not c.trial_converts:
                self._end(s, s.trial[1], s.trial[1], reason="cancellation_requested", feedback="unused")
                return s.trial[1]
            prev = self._snapshot(s)
            s.status = "active"
            self._event("customer.subscription.updated", s.trial[1], self._snapshot(s), {"status": prev["status"]})
            s.period = (s.trial[1], self._period_end(s.trial[1], price, s.anchor))
        return self._run_periods(s, billing_reason="subscription_cycle" if s.trial else "subscription_create")

    def _run_addon(self, c: Customer, cust: Obj, main_end: int | None) -> None:
        start = c.addon_start
        assert start is not None
        price = self.price_by_key[f"{catalog.ADDON_KEY}_monthly_{c.currency}"]
        s = self._new_sub(c, cust, price, 1, start, 0, None, addon=True)
        self._event("customer.subscription.created", start, self._snapshot(s))
        # the add-on ends on its own (~5%/month) or with the main plan, whichever comes first
        own_end = start + int(self.rng.geometric(0.05) * 30.4 * DAY)
        stop = min(x for x in (own_end, main_end, self.horizon + 400 * DAY) if x is not None)
        self._run_periods(s, "subscription_create", addon_stop=stop)

    # ---------------------------------------------------------------- periods
    def _run_periods(self, s: _Sub, billing_reason: str, addon_stop: int | None = None) -> int | None:
        c = s.customer
        pending: list[Obj] = []
        reason = billing_reason
        while s.period[0] < self.horizon:
            p0, p1 = s.period
            lines = [self._line(s, s.price["unit_amount"] * s.quantity, s.period, None)]
            lines += pending
            pending = []
            if s.metered and reason != "subscription_create":
                units = int(self.rng.lognormal(5.0, 1.2)) if self.rng.random() < 0.45 else 0
                prev_period = (add_months(p0, -1, int(to_date(s.anchor).day)), p0)
                lines.append(self._line(s, units * s.metered[1]["unit_amount"], prev_period, "metered", units))
            force_fail = (
                c.churn_kind == "involuntary" and not s.addon
                and c.churn_request is not None and p0 >= c.churn_request
            )  # fmt: skip
            inv = self._invoice(s, p0, reason, self._invoice_period(s, reason), lines)
            outcome = self._collect(s, inv, force_fail)
            reason = "subscription_cycle"
            if outcome == "failed":
                end = inv["status_transitions"]["marked_uncollectible_at"]
                self._end(s, end, end, reason="payment_failed", feedback=None, kind="involuntary")
                return end
            if outcome == "pending":
                s.status = "past_due"
                break
            s.paid_invoices += 1
            if not s.addon:
                self._segment(c, p0, p1, s)
            # what happens during this period
            if addon_stop is not None and addon_stop < p1:
                self._end(s, addon_stop, min(addon_stop, self.horizon) if addon_stop < self.horizon else addon_stop,
                          reason="cancellation_requested", feedback="unused", record_truth=False)
                return addon_stop
            if not s.addon:
                ended = self._period_decisions(s, pending)
                if ended is not None:
                    return ended
            if p1 >= self.horizon:
                break
            s.period = (p1, self._period_end(p1, s.price, s.anchor))
        self._store(s)
        return None

    def _invoice_period(self, s: _Sub, reason: str) -> tuple[int, int]:
        # Stripe's invoice.period_* is the *previous* period for cycle invoices (a known trap:
        # use line periods for service dates); creation invoices have period_start == period_end.
        if reason == "subscription_create":
            return (s.period[0], s.period[0])
        months = 12 if s.price["recurring"]["interval"] == "year" else 1
        return (add_months(s.period[0], -months, int(to_date(s.anchor).day)), s.period[0])

    def _period_decisions(self, s: _Sub, pending: list[Obj]) -> int | None:
        """Seat and plan changes, and the planted cancellation, inside the current period."""
        c, (p0, p1) = s.customer, s.period
        months = 12 if s.price["recurring"]["interval"] == "year" else 1
        for m in range(months):
            t = add_months(p0, m) + int(self.rng.uniform(2, 26) * DAY)
            if t >= p1 or t >= self.horizon:
                break
            if c.churn_request is not None and c.churn_kind != "involuntary" and t >= c.churn_request - 20 * DAY:
                if c.churn_request < p1:
                    return self._cancel(s, c.churn_request)
                continue
            declining = c.signals_start is not None and t >= c.signals_start
            self._maybe_change(s, t, declining, pending)
        if c.churn_request is not None and c.churn_kind != "involuntary" and p0 <= c.churn_request < p1:
            return self._cancel(s, c.churn_request)
        return None

    def _maybe_change(self, s: _Sub, t: int, declining: bool, pending: list[Obj]) -> None:
        c, r = s.customer, self.rng.random()
        tier_i = catalog.TIER_INDEX[c.tier]
        p_up, p_down, p_upg, p_dng = (0.0, 0.15, 0.0, 0.05) if declining else (0.055, 0.016, 0.012, 0.005)
        new_tier, new_qty = c.tier, s.quantity
        if r < p_up:
            new_qty = s.quantity + max(1, int(s.quantity * self.rng.uniform(0.1, 0.4)))
        elif r < p_up + p_down and s.quantity > 1:
            new_qty = max(1, s.quantity - max(1, int(s.quantity * self.rng.uniform(0.1, 0.3))))
        elif r < p_up + p_down + p_upg and tier_i < 3:
            new_tier = catalog.TIERS[tier_i + 1].key
        elif r < p_up + p_down + p_upg + p_dng and tier_i > 0:
            new_tier = catalog.TIERS[tier_i - 1].key
        else:
            return
        old_price, old_qty = s.price, s.quantity
        new_price = self.price_by_key[f"{new_tier}_{c.interval}ly_{c.currency}"]
        frac = (s.period[1] - t) / (s.period[1] - s.period[0])
        when = to_date(t).strftime("%d %b %Y")
        old_name, new_name = _plan_name(old_price), _plan_name(new_price)
        credit = self._line(s, -round(old_price["unit_amount"] * old_qty * frac), (t, s.period[1]),
                            f"Unused time on {old_qty} × {old_name} after {when}", old_qty, price=old_price,
                            proration=True)  # fmt: skip
        prev = self._snapshot(s)
        s.price, s.quantity = new_price, new_qty
        debit = self._line(s, round(new_price["unit_amount"] * new_qty * frac), (t, s.period[1]),
                           f"Remaining time on {new_qty} × {new_name} after {when}", new_qty, proration=True)
        self._event("customer.subscription.updated", t, self._snapshot(s),
                    {"items": prev["items"]})  # fmt: skip
        c.tier, c.seats = new_tier, new_qty
        self._segment(c, t, s.period[1], s, split=True)
        if s.price["recurring"]["interval"] == "year":
            inv = self._invoice(s, t, "subscription_update", (t, t), [credit, debit])
            self._collect(s, inv, force_fail=False)
        else:
            pending.extend([credit, debit])

    def _cancel(self, s: _Sub, request: int) -> int:
        c = s.customer
        feedback = str(self.rng.choice(FEEDBACK))
        if c.churn_kind == "voluntary_immediate":
            self._end(s, request, request, reason="cancellation_requested", feedback=feedback)
            self._trim_segment(c, request)
            return request
        end = s.period[1]
        if end >= self.horizon:  # scheduled to end after the horizon: still active today
            prev = self._snapshot(s)
            s.cancel_at_period_end, s.cancel_at, s.canceled_at = True, end, request
            s.cancel_reason, s.feedback = "cancellation_requested", feedback
            self._event("customer.subscription.updated", request, self._snapshot(s),
                        {"cancel_at_period_end": False, "cancel_at": None, "canceled_at": None})  # fmt: skip
            self._store(s)
            c.churn_request = None
            return end
        self._end(s, request, end, reason="cancellation_requested", feedback=feedback, scheduled=True)
        return end

    # ---------------------------------------------------------------- endings
    def _end(self, s: _Sub, requested: int, ended: int, reason: str, feedback: str | None,
             kind: str | None = None, scheduled: bool = False, record_truth: bool = True) -> None:  # fmt: skip
        c = s.customer
        if scheduled and requested < self.horizon:
            prev = self._snapshot(s)
            s.cancel_at_period_end, s.cancel_at, s.canceled_at = True, ended, requested
            self._event("customer.subscription.updated", requested, self._snapshot(s),
                        {"cancel_at_period_end": False, "cancel_at": None})  # fmt: skip
        if ended >= self.horizon:
            self._store(s)
            return
        s.status, s.canceled_at, s.ended_at = "canceled", requested, ended
        s.cancel_reason, s.feedback = reason, feedback
        self._event("customer.subscription.deleted", ended, self._snapshot(s))
        self._store(s)
        if not s.addon:
            self._trim_segment(c, ended)
        if record_truth and not s.addon and s.paid_invoices > 0:
            c.churned_at.append(ended)
            self.churn.append(ChurnTruth(
                customer_id=c.customer_id, organization_id=c.organization_id, subscription_id=s.sid,
                kind=kind or c.churn_kind or "voluntary_immediate", cancel_requested_at=requested,
                churned_at=ended, warning_signals=c.warning_signals and kind is None,
                signals_start=c.signals_start if kind is None else None,
            ))  # fmt: skip

    # ---------------------------------------------------------------- documents
    def _line(self, s: _Sub, amount: int, period: tuple[int, int], what: str | None, qty: int | None = None,
              price: Obj | None = None, proration: bool = False) -> Obj:  # fmt: skip
        if what == "metered":
            assert s.metered is not None
            si, price = s.metered
            desc = f"{qty} × {catalog.OVERAGE_NAME} (per 1,000 requests)"
        else:
            si, price = s.si, price or s.price
            desc = what or f"{s.quantity} × {_plan_name(price)} (at {price['unit_amount'] / 100:.2f} / {price['recurring']['interval']})"
            qty = qty if qty is not None else s.quantity
        return shapes.invoice_line(
            lid=self.ids.stripe("il"), invoice_id="", sub_id=s.sid, si=si, price_obj=price,
            quantity=qty or 0, amount=amount, period=period, description=desc, proration=proration,
            discount_amounts=[],
        )  # fmt: skip

    def _discount_applies(self, s: _Sub, created: int) -> bool:
        if s.discount is None:
            return False
        duration = s.discount["source"]["coupon"]["duration"]
        if duration == "forever":
            return True
        if duration == "once":
            return s.paid_invoices == 0
        return created < s.discount["end"]

    def _invoice(self, s: _Sub, created: int, reason: str, period: tuple[int, int], lines: list[Obj]) -> Obj:
        iid = self.ids.stripe("in")
        paid_lines_total = sum(x["amount"] for x in lines)
        if paid_lines_total > 0 and self._discount_applies(s, created):
            assert s.discount is not None
            pct = s.discount["source"]["coupon"]["percent_off"] / 100
            for x in lines:
                x["discount_amounts"] = [{"amount": round(max(x["amount"], 0) * pct), "discount": s.discount["id"]}]
                x["discounts"] = [s.discount["id"]]
        for x in lines:
            x["invoice"] = iid
        prefix = s.cust_obj["invoice_prefix"]
        self._invoice_no[prefix] = self._invoice_no.get(prefix, 0) + 1
        inv = shapes.invoice(iid=iid, number=f"{prefix}-{self._invoice_no[prefix]:04d}", customer_obj=s.cust_obj,
                             sub_id=s.sid, created=created, billing_reason=reason, period=period, lines=lines)
        s.latest_invoice = iid
        self.account.invoices.append(inv)
        return inv

    def _collect(self, s: _Sub, inv: Obj, force_fail: bool) -> str:
        """Charge an invoice with Smart Retries; returns paid | failed | pending."""
        if inv["amount_due"] == 0:
            return "paid"
        c = s.customer
        pi = self.ids.stripe("pi")
        finalized = inv["status_transitions"]["finalized_at"]
        pay = shapes.invoice_payment(self.ids.stripe("inpay"), inv, pi, finalized)
        inv["payments"]["data"].append(pay)
        inv["payments"]["total_count"] = 1
        first_code: str | None = None  # set when the first failure was the card's (it persists)
        for attempt, offset in enumerate(RETRY_OFFSETS, start=1):
            t = finalized + offset
            if t >= self.horizon:
                inv["next_payment_attempt"] = t
                return "pending"
            if force_fail:
                p_ok = 0.0
            elif first_code is not None:  # a declined, empty or expired card often stays so
                p_ok = catalog.RETRY_SUCCESS[first_code] * self._dip_factor(t)
            else:  # first attempt, or retrying after a processor (revenue dip) failure
                p_ok = c.card_success * self._dip_factor(t)
            ok = bool(self.rng.random() < p_ok)
            code = None if ok else str(self.rng.choice(list(shapes.FAILURE_MESSAGES), p=[0.6, 0.3, 0.1]))
            if not ok and first_code is None and self._dip_factor(t) == 1.0:
                first_code = code
            ch = shapes.charge(chid=self.ids.stripe("ch"), inv=inv, payment_intent=pi, payment_method=f"pm_{c.customer_id[4:]}",
                               created=t, succeeded=ok, failure_code=code)  # fmt: skip
            self.account.charges.append(ch)
            inv["attempt_count"], inv["attempted"] = attempt, True
            if ok:
                inv.update(status="paid", amount_paid=inv["amount_due"], amount_remaining=0, next_payment_attempt=None)
                inv["status_transitions"]["paid_at"] = t
                pay.update(status="paid", amount_paid=inv["amount_due"])
                pay["status_transitions"]["paid_at"] = t
                self._maybe_refund(ch)
                return "paid"
            c.failed_payments.append(t)
            nxt = finalized + RETRY_OFFSETS[attempt] if attempt < len(RETRY_OFFSETS) else None
            inv["next_payment_attempt"] = nxt
            self._event("invoice.payment_failed", t, {k: inv[k] for k in (
                "id", "object", "customer", "amount_due", "amount_paid", "attempt_count", "billing_reason",
                "currency", "status", "next_payment_attempt", "parent")})  # fmt: skip
        inv.update(status="uncollectible", next_payment_attempt=None)
        inv["status_transitions"]["marked_uncollectible_at"] = finalized + RETRY_OFFSETS[-1] + 3_600
        pay["status"] = "canceled"
        return "failed"

    def _dip_factor(self, t: int) -> float:
        for a, b, magnitude in self._dips:
            if a <= t < b:
                return 1.0 - magnitude
        return 1.0

    def _maybe_refund(self, ch: Obj) -> None:
        if self.rng.random() >= 0.008:
            return
        t = ch["created"] + int(self.rng.uniform(1, 20) * DAY)
        if t >= self.horizon:
            return
        amount = ch["amount"] if self.rng.random() < 0.6 else int(ch["amount"] * self.rng.uniform(0.2, 0.8))
        rf = shapes.refund(self.ids.stripe("re"), ch, amount, t, str(self.rng.choice(["requested_by_customer", "duplicate"])))
        self.account.refunds.append(rf)
        ch.update(amount_refunded=amount, refunded=amount == ch["amount"])
        ch["refunds"]["data"].append(rf)
        ch["refunds"]["total_count"] = len(ch["refunds"]["data"])
        self._event("charge.refunded", t, {k: ch[k] for k in ("id", "object", "amount", "amount_refunded",
                                                                "currency", "customer", "refunded")})

    # ---------------------------------------------------------------- bookkeeping
    def _snapshot(self, s: _Sub) -> Obj:
        items = [shapes.subscription_item(s.si, s.sid, s.price, s.quantity, s.created, s.period)]
        if s.metered:
            items.append(shapes.subscription_item(s.metered[0], s.sid, s.metered[1], None, s.created, s.period))
        discounts = [s.discount] if s.discount is not None and self._discount_live(s) else []
        return shapes.subscription(
            sid=s.sid, customer_id=s.customer.customer_id, currency=s.customer.currency, created=s.created,
            start_date=s.created, anchor=s.anchor, status=s.status, items=items, discounts=discounts,
            trial=s.trial, cancel_at_period_end=s.cancel_at_period_end, cancel_at=s.cancel_at,
            canceled_at=s.canceled_at, ended_at=s.ended_at, cancel_reason=s.cancel_reason,
            feedback=s.feedback, latest_invoice=s.latest_invoice, payment_method=f"pm_{s.customer.customer_id[4:]}",
            metadata={"organization_id": s.customer.organization_id, "kind": "addon" if s.addon else "plan"},
        )  # fmt: skip

    def _discount_live(self, s: _Sub) -> bool:
        assert s.discount is not None
        duration = s.discount["source"]["coupon"]["duration"]
        now = min(self.horizon, s.ended_at or self.horizon)
        if duration == "once":
            return s.paid_invoices == 0
        return duration == "forever" or now < s.discount["end"]

    def _store(self, s: _Sub) -> None:
        self.account.subscriptions.append(self._snapshot(s))

    def _event(self, etype: str, created: int, obj: Obj, previous: Obj | None = None) -> None:
        if created < self.horizon:
            self.account.events.append(shapes.event(self.ids.stripe("evt"), etype, created, obj, previous))

    def _segment(self, c: Customer, start: int, end: int, s: _Sub, split: bool = False) -> None:
        end = min(end, self.horizon)
        if split and c.segments:
            c.segments[-1].end = start
        c.segments.append(PlanSegment(start, end, c.tier, s.quantity, paying=True))

    def _trim_segment(self, c: Customer, end: int) -> None:
        for seg in c.segments:
            if seg.end > end:
                seg.end = max(seg.start, end)


def _plan_name(price: Obj) -> str:
    key = price["lookup_key"].split("_")[0]
    return next((t.name for t in catalog.TIERS if t.key == key), catalog.ADDON_NAME)
