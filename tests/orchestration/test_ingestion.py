"""Ingestion end to end on the demo company: every raw table loads, loads are idempotent (merge on
primary keys), a changed record updates in place, and malformed records are quarantined."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from analytics.settings import Settings
from orchestration.definitions import MATERIALIZE_EVERYTHING, build_definitions


INGESTION = ("demo_company", "demo_truth", "raw_stripe", "raw_supabase", "raw_usage")


def _run(settings: Settings, selection: list[dg.AssetKey] | None = None) -> dg.ExecuteInProcessResult:
    """Materialize the ingestion assets (or `selection`); dbt has its own tests in tests/dbt."""
    defs = build_definitions(settings)
    if selection is None:
        selection = [k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] in INGESTION]
    job = defs.resolve_job_def(MATERIALIZE_EVERYTHING)
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), asset_selection=selection)
    assert result.success
    return result


def _counts(settings: Settings) -> dict[str, int]:
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        tables = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('raw_stripe', 'raw_supabase', 'raw_usage', 'demo_truth') and table_name not like '\\_dlt%' escape '\\'"
        ).fetchall()
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in tables}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dg.ExecuteInProcessResult]:
    from analytics.settings import load_settings

    from ..conftest import TEST_SCALE, TEST_SEED

    settings = load_settings(data_dir=tmp_path_factory.mktemp("data"), demo_scale=TEST_SCALE, demo_seed=TEST_SEED)
    return settings, _run(settings)


def test_every_raw_table_is_populated_with_file_counts(loaded: tuple[Settings, dg.ExecuteInProcessResult]) -> None:
    settings, _ = loaded
    manifest = json.loads((settings.demo_sources_dir / "manifest.json").read_text())
    counts = _counts(settings)
    for group_table, written in manifest["rows"].items():
        group, table = group_table.split(".")
        schema = "demo_truth" if group == "truth" else f"raw_{group}"
        bad = manifest["planted_malformed"].get(f"{group}/{table}", 0)
        assert counts[f"{schema}.{table}"] == written - bad, group_table


def test_materializations_record_row_counts_and_quarantine(loaded: tuple[Settings, dg.ExecuteInProcessResult]) -> None:
    _, result = loaded
    meta = {
        e.materialization.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert meta["raw_stripe/customers"]["dagster/row_count"].value > 0
    assert meta["raw_stripe/customers"]["quarantined"].value == 1
    assert meta["raw_stripe/charges"]["quarantined"].value == 1
    assert meta["raw_stripe/invoices"]["quarantined"].value == 0
    assert meta["raw_supabase/support_tickets"]["quarantined"].value == 1
    assert meta["raw_usage/api_requests"]["quarantined"].value == 1


def test_quarantine_keeps_the_record_and_the_reason(loaded: tuple[Settings, dg.ExecuteInProcessResult]) -> None:
    settings, _ = loaded
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        rows = dict(con.execute("select source_table, reason from raw_stripe.quarantine").fetchall())
        usage = con.execute("select reason, record from raw_usage.quarantine").fetchall()
    assert "id: field required" in rows["customers"]
    assert "amount: input should be a valid integer" in rows["charges"] and "'12.50'" in rows["charges"]
    assert "account_id" in usage[0][0] and '"endpoint":"/v1/query"' in usage[0][1]


def test_loading_twice_changes_nothing_and_an_edit_updates_in_place(
    loaded: tuple[Settings, dg.ExecuteInProcessResult],
) -> None:
    settings, _ = loaded
    before = _counts(settings)
    _run(settings)  # regenerates identical files and loads them again
    assert _counts(settings) == before

    # edit one customer in the source file, reload only that table
    path = settings.demo_sources_dir / "stripe" / "customers.jsonl"
    lines = path.read_text().splitlines()
    first = json.loads(lines[0])
    first["email"] = "changed@example.com"
    lines[0] = json.dumps(first)
    path.write_text("\n".join(lines) + "\n")
    _run(settings, selection=[dg.AssetKey(["raw_stripe", "customers"])])
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        email, n = con.execute(
            "select max(email), count(*) from raw_stripe.customers where id = ?", [first["id"]]
        ).fetchone()
    assert (email, n) == ("changed@example.com", 1)
    assert _counts(settings) == before
