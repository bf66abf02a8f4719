"""What every domain module shares: annotations, provenance models and error translation.

Every numeric answer carries a `Provenance`: the SQL that ran, the tables (or metric definitions)
behind it and the freshness of the data, so the assistant can cite it and warn when it is stale.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolResult,
    ImageContent,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, Field

from analytics.metrics import MetricQueryError
from analytics.metrics.semantic_layer import MetricDefinition
from analytics.reports import Report, ReportError
from analytics.warehouse import Freshness, WarehouseUnavailable

READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True,
                            open_world_hint=False)  # fmt: skip

# Freshness older than this is flagged in `Provenance.stale` (the pipeline runs daily).
STALE_AFTER_HOURS = 36.0


class FreshnessInfo(BaseModel):
    checked_at: str = Field(description="When freshness was checked (UTC, ISO 8601)")
    sources_loaded_at: dict[str, str | None] = Field(
        description="Last successful load per source (ISO 8601), null when never loaded"
    )
    models_built_at: str | None = Field(description="Last dbt build of the metric models (ISO 8601)")
    age_hours: float | None = Field(description="Hours since the oldest source was loaded")
    snapshot_id: str | None = Field(
        None, description="The published warehouse snapshot that answered (null: read from the build)"
    )

    @classmethod
    def of(cls, f: Freshness) -> FreshnessInfo:
        d = f.as_dict()
        return cls(checked_at=d["checked_at"], sources_loaded_at=d["sources_loaded_at"],  # type: ignore[arg-type]
                   models_built_at=d["models_built_at"], age_hours=f.age_hours(),  # type: ignore[arg-type]
                   snapshot_id=f.snapshot_id)  # fmt: skip


class MetricDefinitionInfo(BaseModel):
    name: str
    label: str
    description: str
    type: str
    definition: dict[str, Any] = Field(description="The metric's dbt semantic-layer definition")


def definitions_of(metrics: Iterable[MetricDefinition]) -> list[MetricDefinitionInfo]:
    """The semantic layer's definitions of the metrics an answer used, as output models."""
    return [MetricDefinitionInfo(name=d.name, label=d.label, description=d.description, type=d.type,
                                 definition=jsonable(d.definition)) for d in metrics]  # fmt: skip


class Provenance(BaseModel):
    """Where the numbers of an answer came from."""

    sql: list[str] = Field(description="The SQL statements that ran on the warehouse")
    tables: list[str] = Field(description="Warehouse tables read (schema.table)")
    metric_definitions: list[MetricDefinitionInfo] = Field(
        default_factory=list, description="Definitions of the governed metrics used, if any"
    )
    freshness: FreshnessInfo
    stale: bool = Field(description=f"True when the oldest source is older than {STALE_AFTER_HOURS:g} hours")

    @classmethod
    def of_reports(cls, *reports: Report, definitions: list[MetricDefinitionInfo] | None = None) -> Provenance:
        """Provenance of one or more reports (freshness of the first: they share a warehouse)."""
        tables = list(dict.fromkeys(t for r in reports for t in r.tables))
        return cls.of(sql=[r.sql for r in reports], tables=tables, freshness=reports[0].freshness,
                      definitions=definitions)  # fmt: skip

    @classmethod
    def of(cls, *, sql: list[str], tables: list[str], freshness: Freshness,
           definitions: list[MetricDefinitionInfo] | None = None) -> Provenance:  # fmt: skip
        age = freshness.age_hours()
        return cls(sql=sql, tables=tables, metric_definitions=definitions or [],
                   freshness=FreshnessInfo.of(freshness), stale=age is None or age > STALE_AFTER_HOURS)  # fmt: skip


def tables_in(sql: str, dialect: str = "duckdb") -> list[str]:
    """The schema.table names a statement reads (for provenance), in first-seen order."""
    return list(_tables_in(sql, dialect))


@functools.lru_cache(maxsize=512)
def _tables_in(sql: str, dialect: str) -> tuple[str, ...]:
    # parsing MetricFlow's SQL costs ~7 ms, on every metric answer; the compiled SQL repeats
    # whenever the question does (the semantic layer memoises it), so the parse does too
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.ParseError:
        return ()
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    names = [f"{t.db}.{t.name}" if t.db else t.name for t in tree.find_all(exp.Table) if t.name not in ctes]
    return tuple(dict.fromkeys(names))


def jsonable(value: Any) -> Any:
    """`value` with dates, decimals and other non-JSON types turned into JSON ones."""
    return json.loads(json.dumps(value, default=str))


def cell(value: Any) -> Any:
    """One result cell as JSON: dates and timestamps as ISO 8601."""
    return value.isoformat() if isinstance(value, dt.date | dt.datetime) else value


def json_rows(source: Report | pl.DataFrame | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as JSON objects (dates as ISO 8601) from a report, a frame or plain dicts."""
    if isinstance(source, Report):
        rows = source.rows()
    elif isinstance(source, pl.DataFrame):
        rows = source.to_dicts()
    else:
        rows = source
    return [{k: cell(v) for k, v in row.items()} for row in rows]


@contextmanager
def prompt_errors() -> Iterator[None]:
    """Like `tool_errors` for prompts: a prompt has no error result, so the failure travels as a
    protocol error whose message the client shows (a plain exception reaches it as "Internal
    server error")."""
    try:
        yield
    except (MetricQueryError, ReportError) as exc:
        raise MCPError(INVALID_PARAMS, str(exc)) from None
    except (FileNotFoundError, WarehouseUnavailable) as exc:
        raise MCPError(INTERNAL_ERROR, f"the warehouse is not available: {exc}") from None


@contextmanager
def tool_errors() -> Iterator[None]:
    """Turn the analytics layer's expected failures into tool errors the assistant can act on
    (never a stack trace)."""
    try:
        yield
    except (MetricQueryError, ReportError) as exc:
        raise ToolError(str(exc)) from None
    except (FileNotFoundError, WarehouseUnavailable) as exc:
        raise ToolError(f"the warehouse is not available: {exc}") from None


def with_chart(model: BaseModel, summary: str, png: bytes | None) -> CallToolResult:
    """A tool result carrying `model` as structured content plus a short text summary and, when
    given, a PNG chart. Declare the tool's return type as `Annotated[CallToolResult, Model]` so
    the output schema is still published and the content validated."""
    content: list[TextContent | ImageContent] = [TextContent(type="text", text=summary)]
    if png is not None:
        content.append(ImageContent(type="image", data=base64.b64encode(png).decode(), mime_type="image/png"))
    return CallToolResult(content=content, structured_content=model.model_dump(mode="json"))


def grounded_prompt(task: str, facts: dict[str, Report]) -> str:
    """A prompt that grounds the assistant's own writing in warehouse facts: the task, every fact
    table as JSON with the SQL that produced it, and the rules for citing them."""
    freshness = next(iter(facts.values())).freshness if facts else None
    parts = [
        task,
        "",
        (
            "Use only the facts below; do not invent numbers. Quote figures as given (round for "
            "readability), name the table a number came from when asked, and say so when a fact you "
            "would need is missing."
        ),
    ]
    if freshness is not None:
        age = freshness.age_hours()
        parts.append(f"Data freshness: {json.dumps(freshness.as_dict())}"
                     + (f" (oldest source {age:.0f} h old: mention it if over a day)" if age is not None else ""))  # fmt: skip
    for name, report in facts.items():
        parts += ["", f"## {name}", f"Tables: {', '.join(report.tables)}",
                  "```json", json.dumps(json_rows(report.data), default=str, indent=1), "```",
                  "SQL:", "```sql", report.sql, "```"]  # fmt: skip
    return "\n".join(parts)
