"""The one settings object: every knob of the platform, read from `PSZ_*` environment variables.

Nothing else in the code base reads `os.environ`. `get_settings()` validates at start-up and fails
with a message that names the variable and says what it expects.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "PSZ_"


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names the variable and the fix."""


def folder_problem(path: Path, what: str = "a folder") -> str | None:
    """Why `path` cannot be (or be created as) `what`: it is a file, or a file stands where one of
    its parent folders should be. None when it can."""
    if path.exists() and not path.is_dir():
        return f"{path} is a file, not {what}"
    for parent in path.parents:
        if parent.exists():
            return None if parent.is_dir() else f"{parent} is a file, so {path} cannot be created under it"
    return None


class Settings(BaseSettings):
    """Dev (DuckDB file + demo company) or prod (BigQuery + live sources)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["dev", "prod"] = Field("dev", description="dev: DuckDB + demo; prod: BigQuery + live")
    warehouse: Literal["duckdb", "bigquery"] | None = Field(
        None, description="Override the warehouse chosen by env (dev: duckdb, prod: bigquery)"
    )
    sources: Literal["demo", "live"] | None = Field(
        None, description="Override the sources chosen by env (dev: demo, prod: live)"
    )

    # local paths
    data_dir: Path = Field(Path("data"), description="Folder for the DuckDB file and local state")
    duckdb_path: Path | None = Field(None, description="DuckDB file (default: DATA_DIR/warehouse.duckdb)")
    read_from: Literal["snapshot", "build"] = Field(
        "snapshot",
        description="DuckDB reads: the newest published snapshot (serving: MCP, notebooks), or the "
        "build file the pipeline writes (the pipeline's own reads; set by the Dagster definitions)",
    )
    snapshots_keep: int = Field(3, ge=2, le=50, description="Published DuckDB snapshots kept on disk")

    # the demo company
    demo_seed: int = Field(42, description="Seed of the demo company; same seed, same data")
    demo_scale: float = Field(1.0, gt=0, le=100, description="1 = about 1,000 customers")
    demo_months: int = Field(24, ge=3, le=120, description="Months of history")
    demo_end_date: dt.date = Field(dt.date(2026, 10, 31), description="Last day of demo history")

    # live sources
    stripe_api_key: SecretStr | None = Field(None, description="Stripe secret key (sk_live_... or sk_test_...)")
    stripe_api_base: str | None = Field(None, description="Stripe API base URL (e.g. localstripe)")
    supabase_dsn: SecretStr | None = Field(
        None, description="PostgreSQL URL of the Supabase database, postgresql://user:pass@host:5432/db"
    )
    supabase_schema: str = Field("public", description="Schema holding the application tables")
    usage_path: str | None = Field(
        None, description="Folder or gs:// bucket path holding the usage Parquet files"
    )

    # BigQuery
    bigquery_project: str | None = Field(None, description="GCP project of the BigQuery warehouse")
    bigquery_location: str = Field("US", description="BigQuery location")
    bigquery_credentials_path: Path | None = Field(
        None, description="Service-account JSON file (default: application default credentials)"
    )
    bigquery_api_endpoint: str | None = Field(
        None, description="BigQuery API endpoint override (a local emulator)"
    )

    @property
    def warehouse_kind(self) -> Literal["duckdb", "bigquery"]:
        return self.warehouse or ("duckdb" if self.env == "dev" else "bigquery")

    @property
    def source_kind(self) -> Literal["demo", "live"]:
        return self.sources or ("demo" if self.env == "dev" else "live")

    @property
    def warehouse_path(self) -> Path:
        return self.duckdb_path or self.data_dir / "warehouse.duckdb"

    @property
    def snapshots_dir(self) -> Path:
        """Published read-only copies of the DuckDB warehouse (see `analytics.warehouse`)."""
        return self.warehouse_path.parent / "snapshots"

    @property
    def demo_sources_dir(self) -> Path:
        return self.data_dir / "demo_sources"

    @property
    def dlt_pipelines_dir(self) -> Path:
        return self.data_dir / "dlt_pipelines"

    @property
    def dbt_dir(self) -> Path:
        """Rendered dbt profiles (orchestration) and artifacts: manifests, run results."""
        return self.data_dir / "dbt"

    @property
    def dbt_target_dir(self) -> Path:
        return self.dbt_dir / "target"

    @property
    def dagster_home(self) -> Path:
        return self.data_dir / "dagster_home"

    @field_validator("data_dir")
    @classmethod
    def _data_dir_is_a_folder(cls, value: Path) -> Path:
        problem = folder_problem(value)
        if problem:
            raise ValueError(f"{problem}: point it at a folder (created if missing)")
        return value

    @field_validator("duckdb_path")
    @classmethod
    def _duckdb_path_can_be_a_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return value
        if value.is_dir():
            raise ValueError(f"{value} is a folder: name the DuckDB file, e.g. {value / 'warehouse.duckdb'}")
        problem = folder_problem(value.parent, "a folder for the DuckDB file")
        if problem:
            raise ValueError(f"{problem}: choose a path in a folder")
        return value

    @model_validator(mode="after")
    def _live_sources_need_credentials(self) -> Settings:
        missing: list[str] = []
        if self.source_kind == "live":
            for name in ("stripe_api_key", "supabase_dsn", "usage_path"):
                if getattr(self, name) is None:
                    missing.append(name)
        if self.warehouse_kind == "bigquery" and self.bigquery_project is None:
            missing.append("bigquery_project")
        if missing:
            detail = "; ".join(
                f"{ENV_PREFIX}{name.upper()} ({type(self).model_fields[name].description})"
                for name in missing
            )
            raise ValueError(
                f"env={self.env!r} (sources={self.source_kind}, warehouse={self.warehouse_kind}) "
                f"needs: {detail}. Set them in the environment or in .env (see .env.example), "
                f"or use {ENV_PREFIX}ENV=dev for the local demo."
            )
        if self.supabase_dsn is not None and not self.supabase_dsn.get_secret_value().startswith(
            ("postgresql://", "postgresql+psycopg2://", "postgres://")
        ):
            raise ValueError(
                f"{ENV_PREFIX}SUPABASE_DSN must be a PostgreSQL URL such as "
                "postgresql://user:password@host:5432/postgres"
            )
        return self


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (plus overrides), turning errors into one clear message."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"])
            var = f"{ENV_PREFIX}{loc.upper()}" if loc else "settings"
            got = err.get("input")
            # a value error's message already says what was wrong with the value
            plain = err["type"] == "value_error"
            shown = "" if loc == "" or plain or isinstance(got, dict) else f" (got {got!r})"
            lines.append(f"{var}: {err['msg'].removeprefix('Value error, ')}{shown}")
        raise SettingsError("Invalid configuration:\n  " + "\n  ".join(lines)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, validated once."""
    return load_settings()
