"""Governed metrics for analysts and the MCP layer: `query(...)` and `list_metrics()`."""

from .dimension_values import DimensionValues, all_dimensions, dimension_values
from .query import (
    MetricInfo,
    MetricQueryError,
    MetricResult,
    UnknownNameError,
    add_months,
    data_through,
    last_complete_day,
    list_metrics,
    period_end,
    period_start,
    query,
)

__all__ = [
    "DimensionValues",
    "MetricInfo",
    "MetricQueryError",
    "MetricResult",
    "UnknownNameError",
    "add_months",
    "all_dimensions",
    "data_through",
    "dimension_values",
    "last_complete_day",
    "list_metrics",
    "period_end",
    "period_start",
    "query",
]
