"""Settings: dev by default; prod without credentials or with a malformed value fails at start-up
with a message that names the variable and what it expects."""

from __future__ import annotations

from pathlib import Path

import pytest

from analytics.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("PSZ_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no developer .env in the way


def test_dev_defaults_to_duckdb_and_demo_sources() -> None:
    s = load_settings()
    assert (s.env, s.warehouse_kind, s.source_kind) == ("dev", "duckdb", "demo")
    assert s.warehouse_path == Path("data") / "warehouse.duckdb"


def test_prod_without_credentials_names_every_missing_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSZ_ENV", "prod")
    with pytest.raises(SettingsError) as exc:
        load_settings()
    message = str(exc.value)
    for var in ("PSZ_STRIPE_API_KEY", "PSZ_SUPABASE_DSN", "PSZ_USAGE_PATH", "PSZ_BIGQUERY_PROJECT"):
        assert var in message
    assert ".env.example" in message


def test_malformed_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSZ_DEMO_SCALE", "lots")
    with pytest.raises(SettingsError, match=r"PSZ_DEMO_SCALE: .*number.*'lots'"):
        load_settings()


def test_out_of_range_value_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSZ_DEMO_SCALE", "-1")
    with pytest.raises(SettingsError, match="PSZ_DEMO_SCALE: .*greater than 0"):
        load_settings()


def test_unknown_env_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSZ_ENV", "staging")
    with pytest.raises(SettingsError, match="PSZ_ENV: .*'dev' or 'prod'"):
        load_settings()


def test_supabase_dsn_must_be_a_postgres_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PSZ_SUPABASE_DSN", "mysql://x@y/z")
    with pytest.raises(SettingsError, match="PSZ_SUPABASE_DSN must be a PostgreSQL URL"):
        load_settings()


def test_prod_with_everything_set_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {
        "PSZ_ENV": "prod", "PSZ_STRIPE_API_KEY": "sk_test_x", "PSZ_SUPABASE_DSN": "postgresql://u@h/db",
        "PSZ_USAGE_PATH": "gs://bucket/usage", "PSZ_BIGQUERY_PROJECT": "proj",
    }.items():  # fmt: skip
        monkeypatch.setenv(k, v)
    s = load_settings()
    assert (s.warehouse_kind, s.source_kind) == ("bigquery", "live")
    assert "sk_test_x" not in repr(s)  # secrets stay out of logs


def test_env_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PSZ_DEMO_SEED=99\n")
    assert load_settings().demo_seed == 99
