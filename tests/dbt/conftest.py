"""dbt tests share the built warehouse fixtures (`dbt_settings`, `warehouse`) of tests/conftest.py,
so tests of every package share one build per session."""

from __future__ import annotations

from ..conftest import WAREHOUSE_SCALE as DBT_SCALE  # noqa: F401 - re-exported for dbt tests
from ..conftest import WAREHOUSE_SEED as DBT_SEED  # noqa: F401
