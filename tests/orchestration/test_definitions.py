"""The Dagster definitions load, in dev and in prod, and describe every raw table."""

from __future__ import annotations

from collections.abc import Callable

import dagster as dg

from analytics.settings import Settings
from orchestration.definitions import MATERIALIZE_EVERYTHING, build_definitions
from orchestration.stripe.source import OBJECT_TYPES
from orchestration.supabase.source import TABLES as APP_TABLES
from orchestration.usage.source import TABLES as USAGE_TABLES

EXPECTED = (
    {dg.AssetKey(["raw_stripe", t]) for t in OBJECT_TYPES}
    | {dg.AssetKey(["raw_supabase", t]) for t in APP_TABLES}
    | {dg.AssetKey(["raw_usage", t]) for t in USAGE_TABLES}
)


def _keys(defs: dg.Definitions) -> set[dg.AssetKey]:
    return set(defs.resolve_asset_graph().get_all_asset_keys())


def test_dev_definitions_load_with_demo_assets(make_settings: Callable[..., Settings]) -> None:
    defs = build_definitions(make_settings())
    keys = _keys(defs)
    assert EXPECTED <= keys
    assert dg.AssetKey(["demo_company", "source_files"]) in keys
    assert dg.AssetKey(["demo_truth", "churned_customers"]) in keys
    assert defs.resolve_job_def(MATERIALIZE_EVERYTHING) is not None
    graph = defs.resolve_asset_graph()
    raw = graph.get(dg.AssetKey(["raw_stripe", "invoices"]))
    assert dg.AssetKey(["demo_company", "source_files"]) in raw.parent_keys
    assert raw.group_name == "stripe" and "One row per invoice" in (raw.description or "")


def test_prod_definitions_load_without_touching_the_network(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        env="prod", warehouse="duckdb", stripe_api_key="sk_test_123",
        supabase_dsn="postgresql://nobody@127.0.0.1:1/none", usage_path="gs://bucket/usage",
    )  # fmt: skip
    keys = _keys(build_definitions(settings))
    assert EXPECTED <= keys
    assert not any(k.path[0] in ("demo_company", "demo_truth") for k in keys)


def test_module_level_definitions_are_valid() -> None:
    from orchestration import definitions

    dg.Definitions.validate_loadable(definitions.defs)
