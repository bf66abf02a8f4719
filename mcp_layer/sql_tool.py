"""`run_sql`: read-only SQL over the marts and analytics tables, for what the metrics do not cover.

A thin adapter over `analytics.safe_sql` (the guard, the sandboxed execution and the paging):
it shapes arguments and results and turns the guard's refusals into tool errors.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from analytics import safe_sql
from analytics.settings import Settings
from mcp_layer.common import READ_ONLY, Provenance, tool_errors

KEY_TABLES = (
    "marts.fct_mrr_summary_monthly (MRR movements, ARR, churn, NRR by month)",
    "marts.fct_customer_mrr_monthly (MRR per customer per month)",
    "marts.dim_customers (customers: segment, country, industry, channel)",
    "marts.fct_customer_health_current (health score and risk per customer)",
    "marts.fct_invoices / marts.fct_payments (billing)",
    "marts.fct_leads / marts.fct_opportunities / marts.fct_campaign_performance (sales and marketing)",
    "marts.fct_api_metrics_daily / marts.fct_incident_candidates (operations)",
    (
        "analytics.churn_predictions / analytics.lead_scores / analytics.forecasts / analytics.insights "
        "(model outputs)"
    ),
)


class SqlColumn(BaseModel):
    name: str
    type: str = Field(description="Warehouse type, e.g. VARCHAR, DOUBLE, DATE, BIGINT")


class SqlResult(BaseModel):
    columns: list[SqlColumn] = Field(description="Result columns, in order")
    rows: list[list[Any]] = Field(
        description="This page's rows, one array per row with cells in column order (dates as ISO 8601)"
    )
    row_count: int = Field(description="Rows in this page")
    offset: int = Field(description="0-based position of this page's first row in the whole result")
    has_more: bool = Field(description="True when more rows follow: call again with next_cursor")
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page"
    )
    total_rows: int | None = Field(
        description="Rows in the whole result, known once the last page is reached (null while has_more)"
    )
    ordered: bool = Field(
        description="Whether the query has an ORDER BY (pages of an unordered query are not stable)"
    )
    notes: list[str] = Field(
        description="Anything to tell the user: shortened pages, cut cells, missing ORDER BY"
    )
    sql: str = Field(description="The checked query as it ran (before this page's LIMIT/OFFSET)")
    guard_ms: float = Field(description="Time spent checking the query")
    query_ms: float = Field(description="Time spent running the query on the warehouse")
    provenance: Provenance


def register(server: MCPServer, settings: Settings) -> None:
    """Add the `run_sql` tool to `server`."""

    @server.tool(
        title="Run a read-only SQL query",
        annotations=READ_ONLY,
        description=(
            "Run one read-only SQL SELECT over the curated warehouse tables and get the rows a page at a "
            "time. Prefer query_metrics for governed business metrics (MRR, ARR, churn, revenue, ...): "
            "use run_sql for anything else, such as listing customers, joining marts, custom breakdowns or "
            "model outputs. Rules: exactly one SELECT (WITH/CTEs, joins, subqueries, window functions and "
            "UNION are fine) reading only schema-qualified tables in the `marts` and `analytics` schemas "
            f"(DuckDB SQL, or BigQuery SQL on a BigQuery warehouse); no writes, DDL, file or network "
            f"reads, table functions other than range/generate_series/unnest, or settings. Table and "
            f"column lists are in the `schema://` resources. Key tables: {'; '.join(KEY_TABLES)}. "
            "Add ORDER BY so pages are stable. Returns columns with types, up to page_size rows, "
            "has_more/next_cursor for the next page (call again with cursor=next_cursor), notes, and "
            "provenance (the SQL that ran, the tables read, data freshness)."
        ),
    )
    async def run_sql(
        ctx: Context,
        sql: Annotated[
            str | None,
            Field(
                max_length=safe_sql.MAX_SQL_CHARS,
                description="One SELECT over marts.* / analytics.* tables, e.g. 'select segment, count(*) "
                "as customers from marts.dim_customers group by segment order by customers desc'. "
                "Required unless cursor is given (then optional, and must be the same query).",
            ),
        ] = None,
        page_size: Annotated[
            int,
            Field(ge=1, le=safe_sql.MAX_PAGE_SIZE, description="Rows per page"),
        ] = safe_sql.DEFAULT_PAGE_SIZE,
        cursor: Annotated[
            str | None,
            Field(
                max_length=4 * safe_sql.MAX_SQL_CHARS,
                description="next_cursor from the previous page, to get the following page",
            ),
        ] = None,
        timeout_seconds: Annotated[
            float,
            Field(
                ge=safe_sql.MIN_TIMEOUT_SECONDS,
                le=safe_sql.MAX_TIMEOUT_SECONDS,
                description="Stop the query after this many seconds",
            ),
        ] = safe_sql.DEFAULT_TIMEOUT_SECONDS,
    ) -> SqlResult:
        await ctx.report_progress(0, 1, "checking and running the query")
        with tool_errors():
            try:
                page = await anyio.to_thread.run_sync(
                    lambda: safe_sql.run(
                        settings,
                        sql or None,
                        page_size=page_size,
                        cursor=cursor or None,
                        timeout_seconds=timeout_seconds,
                    )
                )
            except safe_sql.SafeSqlError as exc:
                raise ToolError(str(exc)) from None
        await ctx.report_progress(1, 1, f"{len(page.rows)} rows")
        return SqlResult(
            columns=[SqlColumn(name=c.name, type=c.type) for c in page.columns],
            rows=page.rows,
            row_count=len(page.rows),
            offset=page.offset,
            has_more=page.has_more,
            next_cursor=page.next_cursor,
            total_rows=page.total_rows,
            ordered=page.ordered,
            notes=page.notes,
            sql=page.sql,
            guard_ms=round(page.guard_ms, 3),
            query_ms=round(page.query_ms, 3),
            provenance=Provenance.of(
                sql=[page.executed_sql], tables=list(page.tables), freshness=page.freshness
            ),
        )
