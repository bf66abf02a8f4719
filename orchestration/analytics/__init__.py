"""Analytics assets (forecasts, anomalies, model outputs) written back to the `analytics` dataset,
and their daily schedule. `definitions(settings)` is merged into the code location."""

from .definitions import GROUP, JOB, SCHEDULE, definitions, key

__all__ = ["GROUP", "JOB", "SCHEDULE", "definitions", "key"]
