"""Forecasting: `forecast` (Prophet for headline series, statsforecast and a vectorised fast path
for many series; `auto` picks per series by rolling-origin backtest), `backtest`, revenue
scenarios, a cash-flow projection and capacity forecasts. Pure Python, polars in and out."""

from ._panel import ForecastError, ForecastWarning
from .capacity import CapacityForecast, capacity_forecast
from .core import BacktestReport, backtest, forecast
from .scenarios import assumptions_from_mrr_bridge, cash_flow_projection, revenue_scenarios

__all__ = [
    "BacktestReport",
    "CapacityForecast",
    "ForecastError",
    "ForecastWarning",
    "assumptions_from_mrr_bridge",
    "backtest",
    "capacity_forecast",
    "cash_flow_projection",
    "forecast",
    "revenue_scenarios",
]
