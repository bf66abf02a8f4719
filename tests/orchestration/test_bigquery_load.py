"""The production load path: the demo company through dlt's BigQuery destination into a local
BigQuery emulator (bqemulator, see tests/support/bigquery_emulator.py), row for row what the same
sources load into DuckDB, and merged (not duplicated) when loaded again.

What bqemulator 1.4.0 does not do like BigQuery (seen here): it cannot read gzip-compressed
uploads (the emulator destination decompresses them, see orchestration/ingestion/pipelines.py);
its synchronous `jobs.query` (`Client.query_and_wait`) returns no rows for unqualified table names
instead of using the default dataset (dlt uses `jobs.insert`, which honours it; queries here name
tables in full); `tables.get` reports `num_rows` 0 for loaded tables; there is no Storage Read API
(reads go through REST). MERGE, load jobs (JSON Lines and Parquet), query parameters, insertAll
and scripts with transactions work.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dlt
import orjson
import pytest
from dlt.pipeline.helpers import pipeline_drop

from analytics.settings import Settings
from orchestration.ingestion.assets import loader_file_format, table_row_counts
from orchestration.ingestion.pipelines import RAW_DATASETS, make_destination, make_pipeline
from orchestration.stripe.source import StripeFiles, stripe_source
from orchestration.supabase.source import supabase_files
from orchestration.usage.source import usage_source
from tests.conftest import service_unavailable
from tests.support import bigquery_emulator as emulator

PROJECT = "psz-test"
SOURCES: dict[str, Callable[[Path], Any]] = {
    "stripe": lambda files: stripe_source(StripeFiles(files / "stripe")),
    "supabase": lambda files: supabase_files(files / "supabase"),
    "usage": lambda files: usage_source(str(files / "usage")),
}
# table -> primary key of the tables checked for duplicates (every table is compared by count)
KEY_TABLES: dict[str, dict[str, tuple[str, ...]]] = {
    "stripe": {"customers": ("id",), "invoices": ("id",), "subscriptions": ("id",)},
    "supabase": {"organizations": ("id",)},
    "usage": {"api_requests": ("date", "account_id", "endpoint")},
}

# load jobs dlt sends to BigQuery: JSON Lines for Python records (dlt's default for BigQuery, and
# for dlt's state rows), Parquet for Arrow batches (Supabase, usage), "sql" for the MERGE jobs
LOAD_FORMATS = {
    "stripe": {"jsonl", "sql"},
    "supabase": {"jsonl", "parquet", "sql"},
    "usage": {"jsonl", "parquet", "sql"},
}


@pytest.fixture(scope="module")
def bigquery_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A bqemulator on a free loopback port for this module; stopped (process group) at the end."""
    log = tmp_path_factory.mktemp("bqemulator") / "bqemulator.log"
    started = emulator.running_emulator(PROJECT, log)
    try:
        endpoint = started.__enter__()
    except emulator.EmulatorUnavailable as exc:
        service_unavailable(f"BigQuery emulator (bqemulator): {exc}")
    try:
        yield endpoint
    finally:
        started.__exit__(None, None, None)


def _run(name: str, settings: Settings, source: Any) -> dlt.Pipeline:
    """Load one source the way the Dagster assets do (same pipeline, same file format rule)."""
    pipeline = make_pipeline(name, settings)
    file_format = loader_file_format(settings)
    kwargs = {"loader_file_format": file_format} if file_format else {}
    pipeline.run(source, **kwargs).raise_on_failed_jobs()
    return pipeline


def _counts(pipeline: dlt.Pipeline) -> dict[str, int]:
    """Rows in every data table of the pipeline's schema (nested tables and quarantine too)."""
    return table_row_counts(pipeline, sorted(pipeline.default_schema.data_table_names()))


def _query(pipeline: dlt.Pipeline, sql: str, *args: Any) -> list[Any]:
    """`sql` with `{table}` placeholders for qualified table names, through dlt's sql_client."""
    with pipeline.sql_client() as client:
        tables = {
            t: client.make_qualified_table_name(t)
            for t in pipeline.default_schema.data_table_names()
        }
        return [tuple(row) for row in client.execute_sql(sql.format(**tables), *args) or []]


def _duplicate_keys(pipeline: dlt.Pipeline, table: str, keys: tuple[str, ...]) -> int:
    cols = ", ".join(f"coalesce(cast({k} as string), '')" for k in keys)
    return int(
        _query(pipeline, f"select count(*) - count(distinct concat({cols})) from {{{table}}}")[0][0]
    )


def _loaded_rows(pipeline: dlt.Pipeline) -> dict[str, int]:
    trace = pipeline.last_trace
    assert trace is not None and trace.last_normalize_info is not None
    return dict(trace.last_normalize_info.row_counts)


def _load_formats(pipeline: dlt.Pipeline) -> set[str]:
    trace = pipeline.last_trace
    assert trace is not None and trace.last_load_info is not None
    return {
        job.job_file_info.file_format
        for package in trace.last_load_info.load_packages
        for job in package.jobs["completed_jobs"]
    }  # fmt: skip


def _stripe_with_changed_customer(demo_files: Path, out: Path) -> tuple[Path, str, str]:
    """A copy of the demo's Stripe files whose first customer has a new email."""
    shutil.copytree(demo_files / "stripe", out)
    path = out / "customers.jsonl"
    lines = path.read_bytes().splitlines()
    first = orjson.loads(lines[0])
    first["email"] = "changed@example.com"
    path.write_bytes(b"\n".join([orjson.dumps(first), *lines[1:]]) + b"\n")
    return out, first["id"], first["email"]


def test_emulator_endpoint_keeps_dlt_bigquery(make_settings: Callable[..., Settings]) -> None:
    """The endpoint only redirects dlt's BigQuery destination; without it, production is as before."""
    prod = make_settings(warehouse="bigquery", bigquery_project=PROJECT)
    local = make_settings(
        warehouse="bigquery", bigquery_project=PROJECT, bigquery_api_endpoint="http://127.0.0.1:1"
    )
    assert type(make_destination(prod)) is dlt.destinations.bigquery
    emulated = make_destination(local)
    assert isinstance(emulated, dlt.destinations.bigquery)
    assert emulated.capabilities().preferred_loader_file_format == "jsonl"
    assert loader_file_format(prod) is None  # the assets leave BigQuery on dlt's default


@pytest.mark.service
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Cannot create BigQuery Storage client")
def test_demo_company_loads_into_bigquery_like_duckdb(
    bigquery_endpoint: str, demo_files: Path, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    bigquery = make_settings(
        warehouse="bigquery", bigquery_project=PROJECT, bigquery_api_endpoint=bigquery_endpoint
    )
    duckdb = make_settings(data_dir=tmp_path / "duckdb")

    # 1. first load: the same files into DuckDB and into the emulator
    expected: dict[str, dict[str, int]] = {}
    for name, source in SOURCES.items():
        expected[name] = _counts(_run(name, duckdb, source(demo_files)))
        pipeline = _run(name, bigquery, source(demo_files))
        assert _load_formats(pipeline) == LOAD_FORMATS[name], name
        assert _counts(pipeline) == expected[name], f"{name}: BigQuery rows differ from DuckDB"
        for table in KEY_TABLES[name]:
            assert expected[name][table] > 0, f"{name}.{table} is empty in the demo"

    # the rows are in the emulator, read with google-cloud-bigquery itself (not through dlt)
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery as bq

    client = bq.Client(
        project=PROJECT, credentials=AnonymousCredentials(),
        client_options={"api_endpoint": bigquery_endpoint},
    )  # fmt: skip
    try:
        for name, tables in KEY_TABLES.items():
            for table in tables:
                sql = f"select count(*) as n from `{PROJECT}.{RAW_DATASETS[name]}.{table}`"
                assert next(iter(client.query(sql).result()))["n"] == expected[name][table], table
    finally:
        client.close()

    # 2. second load, as the schedule runs it: Stripe files are replayed whole (every record
    # sent again and MERGEd); Supabase and usage are incremental, so they send nothing new
    for name, source in SOURCES.items():
        pipeline = _run(name, bigquery, source(demo_files))
        if name == "stripe":
            again = _loaded_rows(pipeline)
            for table in KEY_TABLES[name]:
                assert again.get(table) == expected[name][table], f"stripe.{table} not sent again"
        assert _counts(pipeline) == expected[name], f"{name}: rows duplicated by the second load"

    # 3. every record sent again (incremental state forgotten, tables kept), one of them changed:
    # MERGE updates it in place and duplicates nothing (api_requests on a three-column key)
    changed, customer_id, email = _stripe_with_changed_customer(demo_files, tmp_path / "stripe")
    for name, source in SOURCES.items():
        pipeline_drop(make_pipeline(name, bigquery), resources=["re:.*"], state_only=True)()
        again_source = (
            stripe_source(StripeFiles(changed)) if name == "stripe" else source(demo_files)
        )
        pipeline = _run(name, bigquery, again_source)
        again = _loaded_rows(pipeline)
        for table, keys in KEY_TABLES[name].items():
            assert again.get(table) == expected[name][table], f"{name}.{table} not sent again"
            assert _duplicate_keys(pipeline, table, keys) == 0, f"{name}.{table}"
        assert _counts(pipeline) == expected[name], f"{name}: rows duplicated by the merge"
    stripe = make_pipeline("stripe", bigquery)
    assert _query(stripe, "select email from {customers} where id = %s", customer_id) == [(email,)]
