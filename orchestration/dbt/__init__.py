"""dbt: the metric models as Dagster assets."""

from .definitions import definitions

__all__ = ["definitions"]
