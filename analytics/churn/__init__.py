"""Churn prediction: features as of a date, labels, a model trained on earlier snapshots and
evaluated on a later one, per-customer risk factors. See `analytics.churn.model` for the method."""

from analytics.churn.features import (
    CATEGORICAL_FEATURES,
    HEALTH_FEATURES,
    NUMERIC_FEATURES,
    NoCustomersError,
    customer_features,
    label,
)
from analytics.churn.model import ChurnModel, ChurnRun, default_dates, run, train_and_evaluate

__all__ = [
    "CATEGORICAL_FEATURES",
    "HEALTH_FEATURES",
    "NUMERIC_FEATURES",
    "ChurnModel",
    "ChurnRun",
    "NoCustomersError",
    "customer_features",
    "default_dates",
    "label",
    "run",
    "train_and_evaluate",
]
