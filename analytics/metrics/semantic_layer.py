"""The one module that touches MetricFlow (its engine calls itself not a stable API).

Loads dbt's `semantic_manifest.json` once, builds a `MetricFlowEngine` over a small SQL client of
our own (a read-only DuckDB connection, or BigQuery SQL rendered without a connection), and
compiles metric requests to SQL. Executing the SQL is the caller's business.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from metricflow.data_table.mf_table import MetricFlowDataTable
from metricflow.engine.metricflow_engine import MetricFlowEngine, MetricFlowQueryRequest
from metricflow.protocols.sql_client import SqlEngine
from metricflow.sql.render.big_query import BigQuerySqlPlanRenderer
from metricflow.sql.render.duckdb_renderer import DuckDbSqlPlanRenderer
from metricflow.sql.render.sql_plan_renderer import SqlPlanRenderer
from metricflow_semantics.model.dbt_manifest_parser import (
    parse_manifest_from_dbt_generated_manifest,
)
from metricflow_semantics.model.semantic_manifest_lookup import SemanticManifestLookup
from metricflow_semantics.sql.sql_bind_parameters import SqlBindParameterSet


class _RenderOnlyClient:
    """MetricFlow's SqlClient protocol, for SQL generation only: we execute the SQL ourselves
    (read-only, with our own connection handling), so MetricFlow never opens a connection."""

    def __init__(self, engine: SqlEngine, renderer: SqlPlanRenderer) -> None:
        self._engine, self._renderer = engine, renderer

    @property
    def sql_engine_type(self) -> SqlEngine:
        return self._engine

    @property
    def sql_plan_renderer(self) -> SqlPlanRenderer:
        return self._renderer

    def query(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = SqlBindParameterSet()) -> MetricFlowDataTable:
        raise NotImplementedError("the semantic layer only compiles SQL; analytics.metrics executes it")

    def execute(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = SqlBindParameterSet()) -> None:
        raise NotImplementedError("the semantic layer only compiles SQL")

    def dry_run(self, stmt: str, sql_bind_parameter_set: SqlBindParameterSet = SqlBindParameterSet()) -> None:
        raise NotImplementedError("the semantic layer only compiles SQL")

    def close(self) -> None:
        return None

    def render_bind_parameter_key(self, bind_parameter_key: str) -> str:
        return f"${bind_parameter_key}"


@dataclass(frozen=True)
class MetricDefinition:
    name: str
    description: str
    label: str
    type: str
    dimensions: tuple[str, ...]  # qualified names, e.g. customer__segment
    grains: tuple[str, ...]  # day, week, month, quarter, year
    definition: dict[str, Any]  # the metric's YAML definition (type params, filters)


class SemanticLayer:
    """Metric catalogue and SQL compiler for one semantic manifest and one SQL dialect."""

    GRAINS = ("day", "week", "month", "quarter", "year")

    def __init__(self, manifest_path: Path, dialect: str = "duckdb") -> None:
        if not manifest_path.exists():
            raise FileNotFoundError(
                f"{manifest_path} not found: build the warehouse first (`psz demo`, or `dbt parse` in dbt_project/)"
            )
        self.manifest_path = manifest_path
        self.mtime = manifest_path.stat().st_mtime
        self._manifest = parse_manifest_from_dbt_generated_manifest(manifest_path.read_text())
        lookup = SemanticManifestLookup(self._manifest)
        if dialect == "bigquery":
            client = _RenderOnlyClient(SqlEngine.BIGQUERY, BigQuerySqlPlanRenderer())
        else:
            client = _RenderOnlyClient(SqlEngine.DUCKDB, DuckDbSqlPlanRenderer())
        self.engine = MetricFlowEngine(semantic_manifest_lookup=lookup, sql_client=client)  # type: ignore[arg-type]
        # per layer (a new manifest gets a new layer and an empty cache)
        self._compile = functools.lru_cache(maxsize=512)(self._compile_uncached)

    @cached_property
    def metrics(self) -> dict[str, MetricDefinition]:
        out: dict[str, MetricDefinition] = {}
        for m in self._manifest.metrics:
            every = self.engine.simple_dimensions_for_metrics([m.name])
            dims = tuple(sorted(d.dunder_name for d in every if not d.dunder_name.startswith("metric_time")))
            # metric_time comes at the metric's finest grain (day, or month for monthly marts)
            finest = [d.dunder_name.removeprefix("metric_time__") for d in every if d.dunder_name.startswith("metric_time__")]
            grains = self.GRAINS[self.GRAINS.index(finest[0]):] if finest and finest[0] in self.GRAINS else self.GRAINS
            out[m.name] = MetricDefinition(
                name=m.name, description=(m.description or "").strip(), label=m.label or m.name,
                type=str(m.type.value), dimensions=dims, grains=grains,
                definition=m.dict(exclude_none=True, exclude={"metadata"}),
            )  # fmt: skip
        return out

    def compile(
        self,
        metrics: Sequence[str],
        grain: str,
        dimensions: Sequence[str],
        start: dt.date | None,
        end: dt.date | None,
        where: Sequence[str],
        order_by: Sequence[str],
        limit: int | None,
    ) -> str:
        """SQL for the request (memoised: compiling costs ~10-20 ms, an identical request
        repeats the SQL; the layer is rebuilt when the manifest changes)."""
        return self._compile(tuple(metrics), grain, tuple(dimensions), start, end, tuple(where),
                             tuple(order_by), limit)  # fmt: skip

    def _compile_uncached(
        self,
        metrics: Sequence[str],
        grain: str,
        dimensions: Sequence[str],
        start: dt.date | None,
        end: dt.date | None,
        where: Sequence[str],
        order_by: Sequence[str],
        limit: int | None,
    ) -> str:
        """Names must already be validated; `where` built from allow-lists."""
        request = MetricFlowQueryRequest.create(
            metric_names=list(metrics),
            group_by_names=[f"metric_time__{grain}", *dimensions],
            time_constraint_start=dt.datetime.combine(start, dt.time()) if start else None,
            time_constraint_end=dt.datetime.combine(end, dt.time()) if end else None,
            where_constraints=list(where) or None,
            order_by_names=list(order_by) or [f"metric_time__{grain}"],
            limit=limit,
        )
        return self.engine.explain(request).sql_statement.without_descriptions.sql
