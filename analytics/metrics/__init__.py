"""Governed metrics for analysts and the MCP layer: `query(...)` and `list_metrics()`."""

from .query import MetricInfo, MetricQueryError, MetricResult, UnknownNameError, list_metrics, query

__all__ = ["MetricInfo", "MetricQueryError", "MetricResult", "UnknownNameError", "list_metrics", "query"]
