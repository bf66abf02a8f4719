"""Forecasting: `forecast` (`auto` = a fixed combination of seasonal naive, Theta and damped
seasonal ETS with backtest-calibrated intervals, vectorised over many series; Prophet, statsforecast
AutoETS / AutoARIMA on request), frequency inferred from the dates, `backtest` and
`quality_warnings`, revenue scenarios, a cash-flow projection and capacity forecasts. Pure Python,
polars in and out."""

from ._panel import ForecastError, ForecastWarning
from .capacity import CapacityForecast, capacity_forecast
from .core import BacktestReport, backtest, forecast, quality_warnings
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
    "quality_warnings",
    "revenue_scenarios",
]
