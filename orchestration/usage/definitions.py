"""Usage and operations ingestion assets: `raw_usage.<table>` tables."""

from __future__ import annotations

import dagster as dg

from analytics.settings import Settings
from orchestration.ingestion.assets import ingestion_assets

from .source import usage_source

DESCRIPTIONS = {
    "api_requests": "API traffic: requests, errors, p50/p95/p99 latency and latency histogram bucket counts. "
                    "One row per account, day and endpoint.",
    "infra_metrics": "Infrastructure: requests, capacity, instances, CPU and memory. One row per service and hour.",
    "cloud_costs": "Cloud costs in USD. One row per day, service and cost category.",
}


def usage_root(settings: Settings) -> str:
    if settings.source_kind == "demo":
        return str((settings.demo_sources_dir / "usage").resolve())
    assert settings.usage_path is not None  # guaranteed by settings validation
    return settings.usage_path


def definitions(settings: Settings, deps: list[dg.AssetKey] | None = None) -> dg.Definitions:
    source = usage_source(usage_root(settings))
    return dg.Definitions(assets=[ingestion_assets("usage", source, settings, "usage", DESCRIPTIONS, deps)])
