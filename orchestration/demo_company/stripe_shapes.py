"""Builders of Stripe objects in the current API's shapes (API version 2025-09-30.clover).

Shapes follow what the list endpoints return with `items`, `lines`, `discounts` and `payments`
expanded: subscription items carry `current_period_*`, invoice lines carry
`parent.subscription_item_details` and `pricing.price_details`, invoices link to their
subscription through `parent.subscription_details` and to their charges through `payments`.
"""

from __future__ import annotations

from typing import Any

from . import catalog

API_VERSION = "2025-09-30.clover"

Obj = dict[str, Any]


def listing(data: list[Obj], url: str) -> Obj:
    return {"object": "list", "data": data, "has_more": False, "total_count": len(data), "url": url}


def product(pid: str, key: str, name: str, created: int, metadata: dict[str, str]) -> Obj:
    return {
        "id": pid, "object": "product", "active": True, "created": created, "default_price": None,
        "description": f"{name} plan", "images": [], "livemode": False, "marketing_features": [],
        "metadata": {"key": key, **metadata}, "name": name, "package_dimensions": None,
        "shippable": None, "statement_descriptor": None, "tax_code": None, "type": "service",
        "unit_label": "seat", "updated": created, "url": None,
    }  # fmt: skip


def price(
    pid: str, product_id: str, currency: str, unit_amount: int, interval: str,
    usage_type: str, lookup_key: str, created: int,
) -> Obj:  # fmt: skip
    return {
        "id": pid, "object": "price", "active": True, "billing_scheme": "per_unit",
        "created": created, "currency": currency, "custom_unit_amount": None, "livemode": False,
        "lookup_key": lookup_key, "metadata": {}, "nickname": lookup_key.replace("_", " "),
        "product": product_id,
        "recurring": {"interval": interval, "interval_count": 1, "meter": None,
                      "trial_period_days": None, "usage_type": usage_type},
        "tax_behavior": "exclusive", "tiers_mode": None, "transform_quantity": None,
        "type": "recurring", "unit_amount": unit_amount, "unit_amount_decimal": str(unit_amount),
    }  # fmt: skip


def coupon(c: catalog.Coupon, created: int, times_redeemed: int) -> Obj:
    return {
        "id": c.id, "object": "coupon", "amount_off": None, "created": created, "currency": None,
        "duration": c.duration, "duration_in_months": c.duration_in_months, "livemode": False,
        "max_redemptions": None, "metadata": {}, "name": c.name, "percent_off": c.percent_off,
        "redeem_by": None, "times_redeemed": times_redeemed, "valid": True,
    }  # fmt: skip


def discount(did: str, coupon_obj: Obj, customer: str, subscription: str, start: int, end: int | None) -> Obj:
    return {
        "id": did, "object": "discount", "checkout_session": None, "customer": customer,
        "end": end, "invoice": None, "invoice_item": None, "promotion_code": None,
        "source": {"coupon": coupon_obj, "type": "coupon"}, "start": start,
        "subscription": subscription, "subscription_item": None,
    }  # fmt: skip


def customer(
    cid: str, name: str, email: str, country: str, currency: str, created: int,
    payment_method: str, metadata: dict[str, str], delinquent: bool,
) -> Obj:  # fmt: skip
    return {
        "id": cid, "object": "customer",
        "address": {"city": None, "country": country, "line1": None, "line2": None,
                    "postal_code": None, "state": None},
        "balance": 0, "created": created, "currency": currency, "default_source": None,
        "delinquent": delinquent, "description": None, "email": email,
        "invoice_prefix": cid[4:12].upper(),
        "invoice_settings": {"custom_fields": None, "default_payment_method": payment_method,
                             "footer": None, "rendering_options": None},
        "livemode": False, "metadata": metadata, "name": name, "phone": None,
        "preferred_locales": [], "shipping": None, "tax_exempt": "none", "test_clock": None,
    }  # fmt: skip


def subscription_item(
    si: str, sub_id: str, price_obj: Obj, quantity: int | None, created: int, period: tuple[int, int]
) -> Obj:
    return {
        "id": si, "object": "subscription_item", "created": created,
        "current_period_end": period[1], "current_period_start": period[0], "discounts": [],
        "metadata": {}, "price": price_obj, "quantity": quantity, "subscription": sub_id,
        "tax_rates": [],
    }  # fmt: skip


def subscription(
    *, sid: str, customer_id: str, currency: str, created: int, start_date: int, anchor: int,
    status: str, items: list[Obj], discounts: list[Obj], trial: tuple[int, int] | None,
    cancel_at_period_end: bool, cancel_at: int | None, canceled_at: int | None,
    ended_at: int | None, cancel_reason: str | None, feedback: str | None,
    latest_invoice: str | None, payment_method: str, metadata: dict[str, str],
) -> Obj:  # fmt: skip
    return {
        "id": sid, "object": "subscription", "application": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": anchor, "billing_mode": {"type": "classic"},
        "cancel_at": cancel_at, "cancel_at_period_end": cancel_at_period_end,
        "canceled_at": canceled_at,
        "cancellation_details": {"comment": None, "feedback": feedback, "reason": cancel_reason},
        "collection_method": "charge_automatically", "created": created, "currency": currency,
        "customer": customer_id, "days_until_due": None, "default_payment_method": payment_method,
        "description": None, "discounts": discounts, "ended_at": ended_at,
        "items": listing(items, f"/v1/subscription_items?subscription={sid}"),
        "latest_invoice": latest_invoice, "livemode": False, "metadata": metadata,
        "pause_collection": None, "start_date": start_date, "status": status,
        "trial_end": trial[1] if trial else None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "cancel"}},
        "trial_start": trial[0] if trial else None,
    }  # fmt: skip


def invoice_line(
    *, lid: str, invoice_id: str, sub_id: str, si: str, price_obj: Obj, quantity: int,
    amount: int, period: tuple[int, int], description: str, proration: bool,
    discount_amounts: list[Obj],
) -> Obj:  # fmt: skip
    return {
        "id": lid, "object": "line_item", "amount": amount, "currency": price_obj["currency"],
        "description": description, "discount_amounts": discount_amounts, "discountable": True,
        "discounts": [d["discount"] for d in discount_amounts], "invoice": invoice_id,
        "livemode": False, "metadata": {},
        "parent": {
            "type": "subscription_item_details", "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None, "proration": proration,
                "proration_details": {"credited_items": None}, "subscription": sub_id,
                "subscription_item": si,
            },
        },
        "period": {"end": period[1], "start": period[0]}, "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price_obj["id"], "product": price_obj["product"]},
            "type": "price_details", "unit_amount_decimal": price_obj["unit_amount_decimal"],
        },
        "quantity": quantity, "taxes": [],
    }  # fmt: skip


def invoice(
    *, iid: str, number: str, customer_obj: Obj, sub_id: str, created: int,
    billing_reason: str, period: tuple[int, int], lines: list[Obj],
) -> Obj:  # fmt: skip
    subtotal = sum(line["amount"] for line in lines)
    discount_totals: dict[str, int] = {}
    for line in lines:
        for d in line["discount_amounts"]:
            discount_totals[d["discount"]] = discount_totals.get(d["discount"], 0) + d["amount"]
    total = subtotal - sum(discount_totals.values())
    finalized = created + 3_600
    return {
        "id": iid, "object": "invoice", "account_country": "US", "account_name": "PsiZero Inc.",
        "amount_due": max(total, 0), "amount_overpaid": 0, "amount_paid": 0,
        "amount_remaining": max(total, 0), "amount_shipping": 0, "attempt_count": 0,
        "attempted": False, "auto_advance": True,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None,
                          "status": None},
        "billing_reason": billing_reason, "collection_method": "charge_automatically",
        "created": created, "currency": customer_obj["currency"],
        "customer": customer_obj["id"], "customer_email": customer_obj["email"],
        "customer_name": customer_obj["name"], "default_payment_method": None,
        "description": None, "discounts": list(discount_totals), "due_date": None,
        "effective_at": finalized, "ending_balance": 0, "hosted_invoice_url": None,
        "lines": listing(lines, f"/v1/invoices/{iid}/lines"), "livemode": False,
        "metadata": {}, "next_payment_attempt": None, "number": number,
        "parent": {"quote_details": None, "type": "subscription_details",
                   "subscription_details": {"metadata": {}, "subscription": sub_id}},
        "payments": listing([], f"/v1/invoice_payments?invoice={iid}"),
        "period_end": period[1], "period_start": period[0], "starting_balance": 0,
        "status": "paid" if total <= 0 else "open",
        "status_transitions": {"finalized_at": finalized, "marked_uncollectible_at": None,
                               "paid_at": finalized if total <= 0 else None, "voided_at": None},
        "subtotal": subtotal, "subtotal_excluding_tax": subtotal, "total": total,
        "total_discount_amounts": [{"amount": a, "discount": d} for d, a in discount_totals.items()],
        "total_excluding_tax": total, "total_pretax_credit_amounts": [], "total_taxes": [],
    }  # fmt: skip


def invoice_payment(ipid: str, inv: Obj, payment_intent: str, created: int) -> Obj:
    return {
        "id": ipid, "object": "invoice_payment", "amount_paid": None,
        "amount_requested": inv["amount_due"], "created": created, "currency": inv["currency"],
        "invoice": inv["id"], "is_default": True, "livemode": False,
        "payment": {"type": "payment_intent", "payment_intent": payment_intent},
        "status": "open", "status_transitions": {"canceled_at": None, "paid_at": None},
    }  # fmt: skip


FAILURE_MESSAGES = {
    "card_declined": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
}


def charge(
    *, chid: str, inv: Obj, payment_intent: str, payment_method: str, created: int,
    succeeded: bool, failure_code: str | None,
) -> Obj:  # fmt: skip
    return {
        "id": chid, "object": "charge", "amount": inv["amount_due"],
        "amount_captured": inv["amount_due"] if succeeded else 0, "amount_refunded": 0,
        "balance_transaction": f"txn_{chid[3:]}" if succeeded else None,
        "billing_details": {"email": inv["customer_email"], "name": inv["customer_name"]},
        "calculated_statement_descriptor": "PSIZERO", "captured": succeeded, "created": created,
        "currency": inv["currency"], "customer": inv["customer"],
        "description": "Subscription " + inv["billing_reason"].removeprefix("subscription_"),
        "disputed": False, "failure_code": failure_code,
        "failure_message": FAILURE_MESSAGES.get(failure_code or ""), "livemode": False,
        "metadata": {},
        "outcome": {
            "network_status": "approved_by_network" if succeeded else "declined_by_network",
            "reason": None if succeeded else failure_code,
            "risk_level": "normal", "seller_message": "Payment complete." if succeeded
            else "The bank did not return any further details with this decline.",
            "type": "authorized" if succeeded else "issuer_declined",
        },
        "paid": succeeded, "payment_intent": payment_intent, "payment_method": payment_method,
        "payment_method_details": {"card": {"brand": "visa", "country": "US", "last4": "4242"},
                                   "type": "card"},
        "receipt_email": None, "refunded": False, "refunds": listing([], f"/v1/charges/{chid}/refunds"),
        "status": "succeeded" if succeeded else "failed",
    }  # fmt: skip


def refund(rid: str, ch: Obj, amount: int, created: int, reason: str) -> Obj:
    return {
        "id": rid, "object": "refund", "amount": amount,
        "balance_transaction": f"txn_{rid[3:]}", "charge": ch["id"], "created": created,
        "currency": ch["currency"], "metadata": {}, "payment_intent": ch["payment_intent"],
        "reason": reason, "receipt_number": None, "status": "succeeded",
    }  # fmt: skip


def event(eid: str, etype: str, created: int, obj: Obj, previous: Obj | None = None) -> Obj:
    data: Obj = {"object": obj}
    if previous is not None:
        data["previous_attributes"] = previous
    return {
        "id": eid, "object": "event", "api_version": API_VERSION, "created": created,
        "data": data, "livemode": False, "pending_webhooks": 0,
        "request": {"id": None, "idempotency_key": None}, "type": etype,
    }  # fmt: skip
