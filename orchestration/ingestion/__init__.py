"""Shared ingestion plumbing: dlt pipelines, destinations and the quarantine."""
