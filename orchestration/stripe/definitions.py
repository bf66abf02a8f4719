"""Stripe ingestion assets: `raw_stripe.<object>` tables."""

from __future__ import annotations

import dagster as dg

from analytics.settings import Settings
from orchestration.ingestion.assets import ingestion_assets

from .source import StripeApi, StripeFiles, StripeRecords, stripe_source

DESCRIPTIONS = {
    "products": "Stripe products (one per plan tier and add-on). One row per product.",
    "prices": "Stripe prices: currency, unit amount, interval, licensed or metered. One row per price.",
    "coupons": "Stripe coupons with their duration (forever, once, repeating). One row per coupon.",
    "customers": "Stripe customers; `metadata.organization_id` links to the app. One row per customer.",
    "subscriptions": "Stripe subscriptions in their current state; items in `subscriptions__items__data` "
    "(with current_period_*), discounts in `subscriptions__discounts`. One row per subscription.",
    "invoices": "Stripe invoices; lines in `invoices__lines__data` (service period, proration, price), "
    "payments in `invoices__payments__data`. One row per invoice.",
    "charges": "Stripe charge attempts, failed and succeeded. One row per charge.",
    "refunds": "Stripe refunds. One row per refund.",
    "events": "Stripe events (subscription lifecycle, payment failures, refunds); `data` holds the "
    "object snapshot as JSON. One row per event.",
}


def reader(settings: Settings) -> StripeRecords:
    if settings.source_kind == "demo":
        return StripeFiles(settings.demo_sources_dir / "stripe")
    assert settings.stripe_api_key is not None  # guaranteed by settings validation
    return StripeApi(settings.stripe_api_key.get_secret_value(), settings.stripe_api_base)


def definitions(settings: Settings, deps: list[dg.AssetKey] | None = None) -> dg.Definitions:
    assets = ingestion_assets("stripe", stripe_source(reader(settings)), settings, "stripe", DESCRIPTIONS, deps)
    return dg.Definitions(assets=[assets])
