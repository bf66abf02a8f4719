"""Product usage and operations metrics (Parquet): dlt source and Dagster ingestion assets."""

from .definitions import definitions

__all__ = ["definitions"]
