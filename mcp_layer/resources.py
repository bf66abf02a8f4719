"""Resources an assistant can read as context: the metric catalogue and each metric's definition,
the latest insights and anomalies of the pipeline, and the schema of every public table.

URIs (a contract, pinned by the snapshot test):
  metrics://catalog                 every governed metric (name, description, dimensions, grains)
  metrics://definition/{metric}     one metric's semantic-layer definition
  insights://latest                 the ranked insights of the latest pipeline run
  anomalies://latest                the anomalous windows found by the latest pipeline run
  schema://tables                   the public tables (marts.*, analytics.*) with descriptions
  schema://table/{table}            one table's columns, types and descriptions
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError

from analytics import metrics as metric_layer
from analytics.metrics import MetricQueryError
from analytics.metrics.query import semantic_layer
from analytics.reports import ReportError, catalog
from analytics.reports import business_intelligence as bi_reports
from analytics.settings import Settings
from analytics.warehouse import WarehouseUnavailable
from mcp_layer import completions
from mcp_layer.common import Provenance, json_rows, jsonable

JSON = "application/json"


def _dump(payload: Any) -> str:
    return json.dumps(jsonable(payload), indent=1)


@contextmanager
def _resource_errors() -> Iterator[None]:
    try:
        yield
    except (MetricQueryError, ReportError) as exc:
        raise ResourceNotFoundError(str(exc)) from None
    except (FileNotFoundError, WarehouseUnavailable) as exc:
        raise ResourceError(f"the warehouse is not available: {exc}") from None


def _cached(fn: Callable[[], list[str]]) -> Callable[[str], list[str]]:
    """A completion provider that lists once and filters per keystroke."""
    memo: list[list[str]] = []

    def provide(_partial: str) -> list[str]:
        if not memo:
            try:
                memo.append(fn())
            except Exception:  # noqa: BLE001 - no completions rather than an error while typing
                return []
        return memo[0]

    return provide


def register(server: MCPServer, settings: Settings) -> None:
    """Add the catalogue, insight, anomaly and schema resources to `server`."""

    @server.resource("metrics://catalog", title="Metric catalogue", mime_type=JSON,
                     description="Every governed metric: name, label, description, type, dimensions, grains")  # fmt: skip
    def metric_catalog() -> str:
        with _resource_errors():
            items = metric_layer.list_metrics(settings)
        return _dump({"metrics": [m.__dict__ for m in items]})

    @server.resource("metrics://definition/{metric}", title="Metric definition", mime_type=JSON,
                     description="One governed metric's definition from the dbt semantic layer")  # fmt: skip
    def metric_definition(metric: str) -> str:
        with _resource_errors():
            layer = semantic_layer(settings)
            if metric not in layer.metrics:
                raise metric_layer.UnknownNameError("metric", metric, list(layer.metrics))
            d = layer.metrics[metric]
        return _dump({"name": d.name, "label": d.label, "description": d.description, "type": d.type,
                      "dimensions": d.dimensions, "grains": d.grains, "definition": d.definition})  # fmt: skip

    @server.resource("insights://latest", title="Latest insights", mime_type=JSON,
                     description="The ranked business insights of the latest pipeline run, with provenance")  # fmt: skip
    def latest_insights() -> str:
        with _resource_errors():
            report = bi_reports.insights(settings, limit=100)
        rows = json_rows(report.data.drop("total"))
        for row in rows:
            for key in ("recommendations", "data_points"):
                row[key] = bi_reports.parse_json_list(row[key])
            row["evidence"] = bi_reports.parse_json_object(row["evidence"])
        return _dump({"insights": rows, "provenance": Provenance.of_reports(report).model_dump()})

    @server.resource("anomalies://latest", title="Latest anomalies", mime_type=JSON,
                     description="Anomalous windows of the monitored series found by the latest pipeline run")  # fmt: skip
    def latest_anomalies() -> str:
        with _resource_errors():
            report = bi_reports.anomaly_windows(settings, limit=200)
        return _dump({"windows": json_rows(report.data.drop("total")),
                      "provenance": Provenance.of_reports(report).model_dump()})  # fmt: skip

    @server.resource("schema://tables", title="Public tables", mime_type=JSON,
                     description="Tables of the marts and analytics schemas (what run_sql may read), with their "
                                 "dbt descriptions")  # fmt: skip
    def table_list() -> str:
        with _resource_errors():
            report = catalog.tables(settings)
        docs = catalog.dbt_docs(settings)
        rows = [{**r, "description": docs[f"{r['schema']}.{r['table']}"].description
                 if f"{r['schema']}.{r['table']}" in docs else ""} for r in report.rows()]  # fmt: skip
        return _dump({"tables": rows})

    @server.resource("schema://table/{table}", title="Table schema", mime_type=JSON,
                     description="Columns, types and descriptions of one public table, e.g. "
                                 "schema://table/marts.fct_mrr_daily")  # fmt: skip
    def table_schema(table: str) -> str:
        with _resource_errors():
            report = catalog.table_columns(settings, table)
        doc = catalog.dbt_docs(settings).get(table)
        columns = [{**r, "description": doc.columns.get(r["column"], "") if doc else ""} for r in report.rows()]
        return _dump({"table": table, "description": doc.description if doc else "", "columns": columns})

    completions.provide(server, "metric", _cached(lambda: [m.name for m in metric_layer.list_metrics(settings)]))
    completions.provide(server, "table", _cached(
        lambda: [f"{r['schema']}.{r['table']}" for r in catalog.tables(settings).rows()]))  # fmt: skip
