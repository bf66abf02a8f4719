"""The whole dbt project on BigQuery: the demo company of the DuckDB build (`dbt_settings`, scale
0.3) copied into a local BigQuery emulator (Crucible, see tests/support/crucible_emulator.py),
`dbt build` (every seed, model, data test and unit test) with dbt-bigquery against it through the
profile the platform renders (`write_profiles`), then headline figures and row counts compared
between the two builds.

The raw tables are copied from the DuckDB warehouse, not loaded by dlt: Crucible takes neither
dlt's query parameters nor its JSON Lines/Parquet load jobs (see the support module).
"""

from __future__ import annotations

import json
import math
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import duckdb
import pytest

from analytics.settings import Settings, load_settings
from orchestration.dbt.project import PROJECT_DIR, dbt_executable, write_profiles
from tests.conftest import service_unavailable
from tests.dbt.conftest import DBT_SCALE, DBT_SEED
from tests.support import crucible_emulator as crucible

pytestmark = [
    pytest.mark.service,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore:Cannot create BigQuery Storage client"),
]

PROJECT = "psz-test"
REL_TOL = 1e-6  # same rows, same arithmetic: only float summation order may differ

# name -> (model it needs, one portable query returning one number)
HEADLINES: dict[str, tuple[str, str]] = {
    "mrr_last_month_end": (
        "fct_mrr_summary_monthly",
        "select ending_mrr from marts.fct_mrr_summary_monthly order by month_start desc limit 1",
    ),
    "paying_customers_last_month_end": (
        "fct_mrr_summary_monthly",
        "select paying_customers_end from marts.fct_mrr_summary_monthly order by month_start desc limit 1",
    ),
    "recognised_revenue_usd_total": (
        "fct_revenue_recognition_daily",
        "select sum(recognized_usd) from marts.fct_revenue_recognition_daily",
    ),
    "api_requests_total": (
        "fct_api_metrics_daily",
        "select sum(requests) from marts.fct_api_metrics_daily",
    ),
    "customers": ("dim_customers", "select count(*) from marts.dim_customers"),
    "invoice_total_usd": ("fct_invoices", "select sum(total_usd) from marts.fct_invoices"),
    "average_health_score_last_day": (
        "fct_customer_health_daily",
        (
            "select avg(health_score) from marts.fct_customer_health_daily "
            "where date_day = (select max(date_day) from marts.fct_customer_health_daily)"
        ),
    ),
    "leads": ("fct_leads", "select count(*) from marts.fct_leads"),
    "weighted_pipeline_last_month": (
        "fct_pipeline_monthly",
        (
            "select sum(weighted_amount) from marts.fct_pipeline_monthly "
            "where month_start = (select max(month_start) from marts.fct_pipeline_monthly)"
        ),
    ),
}


# marts whose columns are not compared, with the reason (their row counts still are). Empty: the
# rounding divergence (DuckDB 2 rounds a DOUBLE's binary value, BigQuery scales first) is gone
# since scores round through `round_decimal` (macros/cross_db.sql).
KNOWN_DIVERGENCES: dict[str, str] = {}


@dataclass(frozen=True)
class BigQueryBuild:
    settings: Settings
    client: Any  # google.cloud.bigquery.Client on the emulator
    results: list[dict[str, Any]]  # run_results.json "results"
    output: str  # dbt's console output
    models: dict[str, str]  # model name -> schema, as dbt built them for BigQuery
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def bigquery_build(
    dbt_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[BigQueryBuild]:
    """The DuckDB build's raw tables in Crucible, then `dbt build` on them; the emulator keeps
    running for the module's queries and is stopped (process group) at the end."""
    root = tmp_path_factory.mktemp("bigquery_build")
    state, log = root / "crucible.duckdb", root / "crucible.log"
    seconds: dict[str, float] = {}
    started = time.monotonic()
    try:
        crucible.copy_raw_tables(dbt_settings.warehouse_path, state, PROJECT, log)
        seconds["copy_raw"] = time.monotonic() - started
        emulator = crucible.running_emulator(log, database=state)
        endpoint = emulator.__enter__()
    except crucible.EmulatorUnavailable as exc:
        service_unavailable(f"BigQuery emulator (crucible): {exc}")
    try:
        settings = load_settings(
            data_dir=root / "data", warehouse="bigquery", bigquery_project=PROJECT,
            bigquery_api_endpoint=endpoint, demo_scale=DBT_SCALE, demo_seed=DBT_SEED,
        )  # fmt: skip
        target = root / "target"
        cmd = [dbt_executable(), "build", "--project-dir", str(PROJECT_DIR),
               "--profiles-dir", str(write_profiles(settings)), "--target", settings.warehouse_kind,
               "--target-path", str(target), "--log-path", str(root / "logs")]  # fmt: skip
        started = time.monotonic()
        run = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=PROJECT_DIR)
        seconds["dbt_build"] = time.monotonic() - started
        if not (target / "run_results.json").exists():
            pytest.fail(
                f"dbt build did not run on the emulator:\n{run.stdout[-4000:]}{run.stderr[-2000:]}"
            )
        manifest = json.loads((target / "manifest.json").read_text())
        models = {
            node["name"]: node["schema"] for node in manifest["nodes"].values() if node["resource_type"] == "model"
        }  # fmt: skip
        print(f"\nBigQuery emulator build: {seconds}")
        client = crucible.bigquery_client(endpoint, PROJECT)
        try:
            yield BigQueryBuild(
                settings=settings, client=client, models=models, seconds=seconds,
                results=json.loads((target / "run_results.json").read_text())["results"],
                output=run.stdout + run.stderr,
            )  # fmt: skip
        finally:
            client.close()
    finally:
        emulator.__exit__(None, None, None)


def _bigquery_rows(build: BigQueryBuild, sql: str) -> list[tuple[Any, ...]]:
    return [tuple(row.values()) for row in build.client.query(sql).result()]


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(float(a), float(b), rel_tol=REL_TOL, abs_tol=1e-6)


def test_dbt_build_passes_on_the_bigquery_emulator(bigquery_build: BigQueryBuild) -> None:
    failed = [
        f"{r['unique_id']} ({r['status']}): {(r.get('message') or '').strip()[:600]}"
        for r in bigquery_build.results
        if r["status"] not in ("success", "pass")
    ]
    assert not failed, "dbt build on BigQuery (crucible) failed:\n" + "\n".join(failed)
    kinds = {r["unique_id"].split(".")[0] for r in bigquery_build.results}
    assert {"seed", "model", "test", "unit_test"} <= kinds, kinds


def test_staging_and_mart_row_counts_match_duckdb(
    bigquery_build: BigQueryBuild, warehouse: duckdb.DuckDBPyConnection
) -> None:
    """Every staging view and every mart has as many rows on BigQuery as on DuckDB."""
    models = {
        name: schema for name, schema in bigquery_build.models.items()
        if schema in ("staging", "marts") and name != "metricflow_time_spine"
    }  # fmt: skip
    assert any(s == "staging" for s in models.values()) and "dim_customers" in models
    sql = " union all ".join(
        f"select '{name}' as model, count(*) as n from {schema}.{name}" for name, schema in sorted(models.items())
    )  # fmt: skip
    duck = dict(warehouse.execute(sql).fetchall())
    big = dict(_bigquery_rows(bigquery_build, sql))
    differ = {name: (duck[name], big[name]) for name in duck if duck[name] != big[name]}
    assert not differ, f"row counts (DuckDB, BigQuery) differ: {differ}"
    assert duck["dim_customers"] > 0 and duck["stg_stripe__customers"] > 0


def _column_profile_sql(
    table: str, columns: list[tuple[str, str]], quote: str
) -> tuple[list[str], str]:
    """One query profiling every column: the sum of numbers, the count of trues, else the number
    of distinct values. Returns the profile names and the SQL (identifiers quoted with `quote`)."""
    names, exprs = ["rows"], ["count(*)"]
    for column, dtype in columns:
        col = f"{quote}{column}{quote}"
        if dtype in ("DOUBLE", "FLOAT", "BIGINT", "HUGEINT", "INTEGER") or dtype.startswith(
            "DECIMAL"
        ):
            names.append(f"sum({column})")
            exprs.append(f"sum({col})")
        elif dtype == "BOOLEAN":
            names.append(f"count_true({column})")
            exprs.append(f"sum(case when {col} then 1 else 0 end)")
        else:
            names.append(f"count_distinct({column})")
            exprs.append(f"count(distinct {col})")
    return names, f"select {', '.join(exprs)} from marts.{quote}{table}{quote}"


def test_every_mart_column_matches_duckdb(
    bigquery_build: BigQueryBuild, warehouse: duckdb.DuckDBPyConnection
) -> None:
    """Each column of each mart table sums (numbers), counts (booleans) or has as many distinct
    values (the rest) on BigQuery as on DuckDB: the SQL means the same on both engines."""
    marts = sorted(name for name, schema in bigquery_build.models.items() if schema == "marts")
    columns: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in warehouse.execute(
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = 'marts' order by table_name, ordinal_position"
    ).fetchall():  # fmt: skip
        columns.setdefault(table, []).append((column, dtype))
    differ: list[str] = []
    for table in marts:
        if table in KNOWN_DIVERGENCES or table not in columns:
            continue
        names, duck_sql = _column_profile_sql(table, columns[table], '"')
        _, big_sql = _column_profile_sql(table, columns[table], "`")
        duck = warehouse.execute(duck_sql).fetchone()
        big = _bigquery_rows(bigquery_build, big_sql)[0]
        assert duck is not None
        differ += [
            f"{table}.{name}: DuckDB {a} != BigQuery {b}"
            for name, a, b in zip(names, duck, big, strict=True)
            if not _same(a, b)
        ]  # fmt: skip
    assert not differ, "marts differ between the engines:\n" + "\n".join(differ)


@pytest.mark.parametrize("name", sorted(HEADLINES))
def test_headline_figure_matches_duckdb(
    name: str, bigquery_build: BigQueryBuild, warehouse: duckdb.DuckDBPyConnection
) -> None:
    model, sql = HEADLINES[name]
    if model not in bigquery_build.models:
        pytest.skip(f"{name}: model {model} is not in the dbt project yet")
    row = warehouse.execute(sql).fetchone()
    duck = row[0] if row else None
    big = _bigquery_rows(bigquery_build, sql)[0][0]
    assert duck is not None and float(duck) != 0, f"{name} is empty on DuckDB: nothing to compare"
    assert _same(duck, big), f"{name}: DuckDB {duck} != BigQuery {big}"
