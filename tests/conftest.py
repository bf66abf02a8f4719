"""Shared fixtures: a small demo company, isolated settings, and the service rule.

Service rule: a test that needs a local service (PostgreSQL, localstripe, a BigQuery emulator)
skips with the reason on a laptop without it, and fails when `CI` is set, so CI never silently
skips it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from analytics.settings import Settings, load_settings

TEST_SCALE = 0.05  # 50 customers: every feature of the demo company, in about a second
TEST_SEED = 7
WAREHOUSE_SCALE = 0.3  # 300 customers: enough churners and lifecycle paths for the reconciliations
WAREHOUSE_SEED = 42


def service_unavailable(reason: str) -> None:
    """Skip locally, fail in CI (where `CI` is set)."""
    if os.environ.get("CI"):
        pytest.fail(f"required service unavailable in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def demo_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo company at test scale, written once per session as source files."""
    from orchestration.demo_company import generate

    out = tmp_path_factory.mktemp("demo_sources")
    generate(out, seed=TEST_SEED, scale=TEST_SCALE)
    return out


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings isolated in a temporary data dir (never the developer's `data/`)."""

    def _make(**overrides: object) -> Settings:
        base: dict[str, object] = {
            "env": "dev",
            "data_dir": tmp_path / "data",
            "demo_seed": TEST_SEED,
            "demo_scale": TEST_SCALE,
        }
        return load_settings(**(base | overrides))

    return _make


@pytest.fixture(scope="session")
def dbt_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The whole platform built once per session, as `psz demo` builds it: generate, ingest and
    `dbt build` (dbt tests as asset checks; any failing check fails the fixture)."""
    import dagster as dg

    from orchestration.definitions import MATERIALIZE_EVERYTHING, build_definitions

    prebuilt = os.environ.get("PSZ_TEST_PREBUILT_DATA_DIR")
    if prebuilt and not os.environ.get("CI"):
        # Local iteration only: a data dir built by `psz demo` at WAREHOUSE_SCALE/WAREHOUSE_SEED,
        # shared read-only. CI always builds its own.
        return load_settings(data_dir=Path(prebuilt), demo_scale=WAREHOUSE_SCALE, demo_seed=WAREHOUSE_SEED)
    settings = load_settings(
        data_dir=tmp_path_factory.mktemp("warehouse"), demo_scale=WAREHOUSE_SCALE, demo_seed=WAREHOUSE_SEED
    )
    job = build_definitions(settings).resolve_job_def(MATERIALIZE_EVERYTHING)
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    failed = [e.asset_check_key.to_user_string() for e in result.get_asset_check_evaluations() if not e.passed]
    assert result.success and not failed, f"the platform build failed; failing checks: {failed}"
    return settings


@pytest.fixture
def warehouse(dbt_settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the session's built warehouse."""
    con = duckdb.connect(str(dbt_settings.warehouse_path), read_only=True)
    yield con
    con.close()
