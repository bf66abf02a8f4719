"""Supabase application database ingestion assets: `raw_supabase.<table>` tables."""

from __future__ import annotations

import dagster as dg

from analytics.settings import Settings
from orchestration.ingestion.assets import ingestion_assets

from .source import supabase_files, supabase_postgres

DESCRIPTIONS = {
    "organizations": "Customer organisations, linked to Stripe by `stripe_customer_id`. One row per organisation.",
    "users": "Users of the product. One row per user.",
    "feature_events": "Product feature use. One row per event.",
    "support_tickets": "Support tickets with category, priority, resolution time and CSAT (1-5). One row per ticket.",
    "nps_responses": "Quarterly NPS survey answers (0-10). One row per response.",
    "onboarding_milestones": "Onboarding steps completed. One row per organisation and milestone.",
    "campaigns": "Marketing campaigns with budget and spend. One row per campaign.",
    "leads": "Marketing leads with source, campaign, behaviour and funnel status. One row per lead.",
    "opportunities": "Sales opportunities with stage, amount and probability. One row per opportunity.",
    "budgets": "Monthly budget per department (USD). One row per month and department.",
}


def definitions(settings: Settings, deps: list[dg.AssetKey] | None = None) -> dg.Definitions:
    if settings.source_kind == "demo":
        source = supabase_files(settings.demo_sources_dir / "supabase")
    else:
        assert settings.supabase_dsn is not None  # guaranteed by settings validation
        source = supabase_postgres(settings.supabase_dsn.get_secret_value(), settings.supabase_schema)
    return dg.Definitions(assets=[ingestion_assets("supabase", source, settings, "supabase", DESCRIPTIONS, deps)])
