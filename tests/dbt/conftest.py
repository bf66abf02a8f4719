"""Helpers for dbt tests. The built warehouse fixtures (`dbt_settings`, `warehouse`) live in
tests/conftest.py so tests of every package share one build per session."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from analytics.settings import Settings

from ..conftest import WAREHOUSE_SCALE as DBT_SCALE  # noqa: F401 - re-exported for dbt tests
from ..conftest import WAREHOUSE_SEED as DBT_SEED  # noqa: F401

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def run_dbt(settings: Settings, *args: str, target_path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run this environment's dbt CLI against `settings`' DuckDB file (committed profiles.yml)."""
    dbt = Path(sys.executable).parent / "dbt"
    env = {**os.environ, "PSZ_DUCKDB_PATH": str(settings.warehouse_path.resolve())}
    cmd = [str(dbt), *args, "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR)]
    if target_path is not None:
        cmd += ["--target-path", str(target_path)]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=PROJECT_DIR)
