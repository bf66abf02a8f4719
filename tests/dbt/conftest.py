"""A warehouse built once per session: the demo company ingested, then `dbt build` (all models
and their tests). Tests read the marts read-only and compare them with staging or demo_truth."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from analytics.settings import Settings, load_settings

DBT_SCALE = 0.3  # 300 customers: enough churners and lifecycle paths for the reconciliations
DBT_SEED = 42
PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def run_dbt(settings: Settings, *args: str, target_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the dbt CLI of this environment against `settings`' DuckDB file."""
    dbt = Path(sys.executable).parent / "dbt"
    env = {"PSZ_DUCKDB_PATH": str(settings.warehouse_path.resolve()), "PATH": str(dbt.parent)}
    import os

    env = {**os.environ, **env}
    cmd = [str(dbt), *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    if target_path is not None:
        cmd += ["--target-path", str(target_path)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=PROJECT_DIR)


@pytest.fixture(scope="session")
def dbt_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    from orchestration.definitions import MATERIALIZE_EVERYTHING, build_definitions

    settings = load_settings(data_dir=tmp_path_factory.mktemp("dbt_data"), demo_scale=DBT_SCALE, demo_seed=DBT_SEED)
    # the whole platform, as `psz demo` runs it: generate, ingest, dbt build (tests as asset checks)
    job = build_definitions(settings).resolve_job_def(MATERIALIZE_EVERYTHING)
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    failed = [e.asset_check_key.to_user_string() for e in result.get_asset_check_evaluations() if not e.passed]
    assert result.success and not failed, f"dbt build failed; failing checks: {failed}"
    return settings


@pytest.fixture
def warehouse(dbt_settings: Settings) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(dbt_settings.warehouse_path), read_only=True)
    yield con
    con.close()
