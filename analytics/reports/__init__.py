"""Read-only reports over the marts and the `analytics` dataset, one module per domain.

Each function runs one SQL statement and returns a `Report`: the rows, the SQL that ran, the
tables it read and the freshness of the data, so every consumer (the MCP layer, notebooks) can
cite where a number came from. Business logic lives in dbt and the analytics models; a report
only selects, filters and orders.
"""

from .base import Report, ReportError, closest, fetch

__all__ = ["Report", "ReportError", "closest", "fetch"]
