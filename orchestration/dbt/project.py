"""The dbt project as Dagster sees it: profiles rendered from settings, the manifest kept fresh."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from dagster_dbt import DbtProject

from analytics.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
_SOURCES = ("models", "macros", "seeds", "tests", "dbt_project.yml")


def dbt_executable() -> str:
    """The dbt of this environment (dagster-dbt otherwise looks for `dbt` on PATH)."""
    return str(Path(sys.executable).parent / "dbt")


def write_profiles(settings: Settings) -> Path:
    """Render profiles.yml for the active warehouse into the data dir; returns its folder.

    The committed dbt_project/profiles.yml reads environment variables for people running dbt by
    hand; the platform passes everything explicitly instead, from the one settings object.
    """
    if settings.warehouse_kind == "duckdb":
        output = {"type": "duckdb", "path": str(settings.warehouse_path.resolve()), "schema": "main", "threads": 2}
    else:
        output = {
            "type": "bigquery", "project": settings.bigquery_project, "dataset": "analytics",
            "location": settings.bigquery_location, "threads": 4,
            "method": "service-account" if settings.bigquery_credentials_path else "oauth",
        }  # fmt: skip
        if settings.bigquery_credentials_path:
            output["keyfile"] = str(settings.bigquery_credentials_path)
        if settings.bigquery_api_endpoint:
            # a local emulator (as for dlt): no Google identity. dbt-bigquery has no anonymous
            # method, so a placeholder bearer token stands in (the emulator ignores it) and no
            # application default credentials are looked up.
            output["api_endpoint"] = settings.bigquery_api_endpoint
            if not settings.bigquery_credentials_path:
                output |= {"method": "oauth-secrets", "token": "local-emulator"}
            # a query the emulator refuses (or fails on) fails at once, not after retries
            output |= {"job_retries": 0, "job_execution_timeout_seconds": 300}
    folder = settings.dbt_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    profiles = {"psz": {"target": settings.warehouse_kind, "outputs": {settings.warehouse_kind: output}}}
    text = yaml.safe_dump(profiles, sort_keys=False)
    path = folder / "profiles.yml"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return folder


def _newest_source_mtime() -> float:
    newest = 0.0
    for name in _SOURCES:
        p = PROJECT_DIR / name
        files = [p] if p.is_file() else p.rglob("*")
        newest = max([newest, *(f.stat().st_mtime for f in files if f.is_file())])
    return newest


def dbt_project(settings: Settings) -> DbtProject:
    """The DbtProject for `settings`, with a manifest no older than the project's files."""
    profiles_dir = write_profiles(settings)
    target_path = settings.dbt_target_dir.resolve()
    project = DbtProject(
        project_dir=PROJECT_DIR, target_path=target_path, profiles_dir=profiles_dir,
        target=settings.warehouse_kind,
    )  # fmt: skip
    manifest = project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime():
        # `dbt parse` (~5 s) only when a model, macro or seed changed since the last manifest
        cmd = [dbt_executable(), "parse", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(profiles_dir),
               "--target-path", str(target_path), "--target", settings.warehouse_kind, "--quiet"]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, cwd=PROJECT_DIR)
        if result.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{result.stdout[-4000:]}{result.stderr[-2000:]}")
    return project
