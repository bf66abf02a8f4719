"""Supabase (PostgreSQL) application database: dlt source and Dagster ingestion assets."""

from .definitions import definitions

__all__ = ["definitions"]
