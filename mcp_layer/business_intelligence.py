"""Business intelligence: the governed metric catalogue, metric queries and the health check.

Thin adapters over `analytics.metrics` and `analytics.warehouse`: they shape arguments and
results for an AI assistant and turn the metric layer's errors into tool errors. No arithmetic.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from analytics import metrics as metric_layer
from analytics.metrics.query import MAX_LIMIT
from analytics.settings import Settings
from analytics.warehouse import WarehouseUnavailable, freshness, run_query
from mcp_layer import versions
from mcp_layer.common import READ_ONLY, FreshnessInfo, MetricDefinitionInfo, cell, jsonable

Scalar = str | int | float | bool


# ---- output models -----------------------------------------------------------------------------


class MetricSummary(BaseModel):
    name: str = Field(description="Metric name to pass to query_metrics")
    label: str
    description: str
    type: str = Field(
        description="MetricFlow metric type: simple, ratio, derived, cumulative, conversion"
    )
    dimensions: list[str] = Field(
        description="Dimensions it can be grouped or filtered by (qualified names)"
    )
    grains: list[str] = Field(description="Time grains it can be queried at")


class MetricCatalog(BaseModel):
    metrics: list[MetricSummary]


class MetricQueryResult(BaseModel):
    metrics: list[str]
    grain: str
    dimensions: list[str]
    columns: list[str] = Field(description="`period`, one column per dimension, one per metric")
    rows: list[dict[str, Any]] = Field(description="One object per period (and dimension values)")
    row_count: int
    sql: str = Field(description="The SQL that ran on the warehouse")
    freshness: FreshnessInfo
    definitions: list[MetricDefinitionInfo] = Field(description="Definitions of the metrics used")


class HealthReport(BaseModel):
    status: str = Field(
        description="ok, degraded (stale or partly loaded) or down (warehouse unreachable)"
    )
    warehouse_kind: str
    warehouse_reachable: bool
    warehouse_error: str | None = None
    metrics_available: int | None = Field(
        None, description="Governed metrics in the semantic layer"
    )
    freshness: FreshnessInfo | None = None
    versions: dict[str, str | None]


# ---- registration ------------------------------------------------------------------------------


def register(server: MCPServer, settings: Settings) -> None:
    """Add the business intelligence tools to `server`."""

    @server.tool(title="List governed metrics", annotations=READ_ONLY)
    def list_metrics() -> MetricCatalog:
        """List every governed business metric (MRR, ARR, customers, churn, health, ...) with its
        description, the dimensions it can be grouped or filtered by and its time grains.
        Call this first to find the exact metric and dimension names for query_metrics."""
        try:
            items = metric_layer.list_metrics(settings)
        except (FileNotFoundError, WarehouseUnavailable) as exc:
            raise ToolError(f"the metric catalogue is not available: {exc}") from None
        return MetricCatalog(metrics=[
            MetricSummary(name=m.name, label=m.label, description=m.description, type=m.type,
                          dimensions=list(m.dimensions), grains=list(m.grains))
            for m in items
        ])  # fmt: skip

    @server.tool(title="Query governed metrics", annotations=READ_ONLY)
    def query_metrics(
        metrics: Annotated[
            list[str],
            Field(
                min_length=1,
                max_length=20,
                description="Metric names from list_metrics, e.g. ['mrr', 'paying_customers']",
            ),
        ],
        grain: Annotated[
            str, Field(description="Time grain: day, week, month, quarter or year")
        ] = "month",
        dimensions: Annotated[
            list[str] | None,
            Field(
                description="Dimensions to group by, shared by all requested metrics (e.g. 'customer__segment' "
                "or the short 'segment')"
            ),
        ] = None,
        start: Annotated[
            dt.date | None, Field(description="First day of the range (YYYY-MM-DD), inclusive")
        ] = None,
        end: Annotated[
            dt.date | None, Field(description="Last day of the range (YYYY-MM-DD), inclusive")
        ] = None,
        filters: Annotated[
            dict[str, Scalar | list[Scalar]] | None,
            Field(description="Equality filters: dimension name -> value, or list of values (IN)"),
        ] = None,
        order: Annotated[
            list[str] | None,
            Field(
                description="Output columns to sort by ('period', a dimension, a metric); prefix '-' for "
                "descending"
            ),
        ] = None,
        limit: Annotated[
            int | None, Field(ge=1, le=MAX_LIMIT, description="Maximum rows to return")
        ] = None,
    ) -> MetricQueryResult:
        """Get the values of one or more governed metrics over time, optionally grouped by
        dimensions and filtered. Use for any business number (revenue, MRR, customers, churn,
        health, ...). Returns the rows plus the SQL that ran, the metric definitions and how fresh
        the data is, so the answer can be cited. Unknown names are answered with the closest
        valid ones."""
        try:
            result = metric_layer.query(metrics, grain=grain, dimensions=dimensions or (), start=start, end=end,
                                   filters=filters, order=order or (), limit=limit, settings=settings)  # fmt: skip
        except metric_layer.MetricQueryError as exc:
            raise ToolError(str(exc)) from None
        except (FileNotFoundError, WarehouseUnavailable) as exc:
            raise ToolError(f"the warehouse is not available: {exc}") from None
        rows = [{k: cell(v) for k, v in row.items()} for row in result.data.iter_rows(named=True)]
        return MetricQueryResult(
            metrics=list(metrics), grain=result.grain, dimensions=list(result.dimensions),
            columns=result.data.columns, rows=rows, row_count=len(rows), sql=result.sql,
            freshness=FreshnessInfo.of(result.freshness),
            definitions=[MetricDefinitionInfo(name=d.name, label=d.label, description=d.description, type=d.type,
                                              definition=jsonable(d.definition)) for d in result.metrics],
        )  # fmt: skip

    @server.tool(title="Health check", annotations=READ_ONLY)
    def health_check() -> HealthReport:
        """Check the platform before trusting its numbers: whether the warehouse answers, when each
        source (stripe, supabase, usage) was last loaded, when the metric models were last built,
        and the software versions serving the answers."""
        reachable, error, count, fresh = True, None, None, None
        try:
            run_query(settings, "select 1")
        except Exception as exc:  # noqa: BLE001 - reported to the caller, not raised
            reachable, error = False, f"{type(exc).__name__}: {exc}"
        if reachable:
            fresh = FreshnessInfo.of(freshness(settings))
            try:
                count = len(metric_layer.list_metrics(settings))
            except Exception as exc:  # noqa: BLE001
                error = f"semantic layer unavailable: {exc}"
        loaded = (
            fresh is not None and all(fresh.sources_loaded_at.values()) and fresh.models_built_at
        )
        status = "down" if not reachable else ("ok" if loaded and count else "degraded")
        return HealthReport(status=status, warehouse_kind=settings.warehouse_kind, warehouse_reachable=reachable,
                            warehouse_error=error, metrics_available=count, freshness=fresh,
                            versions=versions())  # fmt: skip
