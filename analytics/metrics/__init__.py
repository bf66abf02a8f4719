"""Governed metrics for analysts and the MCP layer: `query(...)` and `list_metrics()`."""

from .dimension_values import DimensionValues, all_dimensions, dimension_values
from .query import MetricInfo, MetricQueryError, MetricResult, UnknownNameError, list_metrics, query

__all__ = [
    "DimensionValues",
    "MetricInfo",
    "MetricQueryError",
    "MetricResult",
    "UnknownNameError",
    "all_dimensions",
    "dimension_values",
    "list_metrics",
    "query",
]
