"""dlt pipelines and destinations: DuckDB file in dev, BigQuery in prod (chosen by settings).

`PSZ_BIGQUERY_API_ENDPOINT` points the BigQuery destination at a local emulator: same dlt
BigQuery destination (SQL, type mapping, load jobs, merge), but the google-cloud-bigquery client
talks to that endpoint with anonymous credentials.
"""

from __future__ import annotations

import gzip
import io
from functools import cache
from typing import Any

import dlt
from dlt.common.configuration import configspec
from dlt.common.configuration.specs import GcpCredentials
from dlt.common.destination import Destination
from dlt.destinations.impl.bigquery.configuration import BigQueryClientConfiguration

from analytics.settings import Settings

# one raw dataset (schema) per source
RAW_DATASETS = {
    "stripe": "raw_stripe",
    "supabase": "raw_supabase",
    "usage": "raw_usage",
    "demo_truth": "demo_truth",
}


def make_destination(settings: Settings) -> Destination[Any, Any]:
    if settings.warehouse_kind == "duckdb":
        settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
        return dlt.destinations.duckdb(str(settings.warehouse_path))
    if settings.bigquery_api_endpoint is not None:
        return bigquery_emulator(
            credentials=EmulatorCredentials(project_id=settings.bigquery_project),
            location=settings.bigquery_location, project_id=settings.bigquery_project,
            api_endpoint=settings.bigquery_api_endpoint,
        )  # fmt: skip
    credentials: dict[str, Any] | None = None
    if settings.bigquery_credentials_path is not None:
        credentials = _service_account(settings)
    return dlt.destinations.bigquery(
        credentials=credentials, location=settings.bigquery_location,
        project_id=settings.bigquery_project,
    )  # fmt: skip


def _service_account(settings: Settings) -> dict[str, Any]:
    import json

    assert settings.bigquery_credentials_path is not None
    return json.loads(settings.bigquery_credentials_path.read_text())


# ----------------------------------------------------------------------------- local emulator
@configspec
class EmulatorCredentials(GcpCredentials):
    """No Google identity: a local emulator takes anonymous requests (only `project_id` is set)."""

    def to_native_credentials(self) -> Any:
        from google.auth.credentials import AnonymousCredentials

        return AnonymousCredentials()


@configspec
class BigQueryEmulatorConfiguration(BigQueryClientConfiguration):
    credentials: EmulatorCredentials = None  # type: ignore[assignment]
    api_endpoint: str = None  # type: ignore[assignment]
    """Base URL of the emulator's REST API, e.g. http://127.0.0.1:9050"""


class bigquery_emulator(dlt.destinations.bigquery):  # lower case, as dlt names its factories
    """dlt's BigQuery destination whose client talks to `api_endpoint` (a local emulator)."""

    spec = BigQueryEmulatorConfiguration  # type: ignore[assignment]

    @property
    def client_class(self) -> type[Any]:
        return _emulator_client_class()


@cache
def _emulator_client_class() -> type[Any]:
    # google-cloud-bigquery is imported here, not at start-up (it is slow to import)
    from dlt.destinations.impl.bigquery.bigquery import BigQueryClient
    from dlt.destinations.impl.bigquery.sql_client import BigQuerySqlClient
    from google.cloud import bigquery

    class EmulatorSqlClient(BigQuerySqlClient):
        api_endpoint: str

        def open_connection(self) -> bigquery.Client:
            # BigQuerySqlClient.open_connection, plus `client_options` with the emulator's URL
            self._client = bigquery.Client(
                self.project_id, credentials=self.credentials.to_native_credentials(),
                location=self.location, client_options={"api_endpoint": self.api_endpoint},
            )  # fmt: skip
            query_orig = self._client.query

            def query_patch(
                query: str, retry: Any = self._default_retry, timeout: Any = self.http_timeout,
                **kwargs: Any,
            ) -> Any:  # fmt: skip
                return query_orig(query, retry=retry, timeout=timeout, **kwargs)

            self._client.query = query_patch  # type: ignore[method-assign]

            # dlt uploads gzip-compressed JSON Lines (BigQuery reads them); the emulator does not
            load_orig = self._client.load_table_from_file

            def load_uncompressed(file_obj: Any, *args: Any, **kwargs: Any) -> Any:
                is_gzip = file_obj.read(2) == b"\x1f\x8b"
                file_obj.seek(0)
                if is_gzip:
                    file_obj = io.BytesIO(gzip.decompress(file_obj.read()))
                return load_orig(file_obj, *args, **kwargs)

            self._client.load_table_from_file = load_uncompressed  # type: ignore[method-assign]
            return self._client

    class EmulatorClient(BigQueryClient):
        def __init__(
            self, schema: Any, config: BigQueryEmulatorConfiguration, capabilities: Any
        ) -> None:
            super().__init__(schema, config, capabilities)
            base = self.sql_client
            sql_client = EmulatorSqlClient(
                base.dataset_name, base.staging_dataset_name, config.credentials, capabilities,
                config.get_location(), config.project_id, config.http_timeout, config.retry_deadline,
            )  # fmt: skip
            sql_client.api_endpoint = config.api_endpoint
            self.sql_client = sql_client

    return EmulatorClient


def make_pipeline(source: str, settings: Settings) -> dlt.Pipeline:
    """The dlt pipeline that loads `source` into its raw dataset."""
    settings.dlt_pipelines_dir.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=f"psz_{source}",
        destination=make_destination(settings),
        dataset_name=RAW_DATASETS[source],
        pipelines_dir=str(settings.dlt_pipelines_dir),
    )
