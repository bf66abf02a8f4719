"""Expansion opportunities and per-customer value forecast (see `analytics.expansion.core`)."""

from analytics.expansion.core import monthly_expansion_rate, opportunities, value_forecast

__all__ = ["monthly_expansion_rate", "opportunities", "value_forecast"]
