"""Anomaly detection on metric series.

- `detect(series, sensitivity=0.5)`: one or many series (`unique_id`) of `ds`, `y` -> `ds`, `y`,
  `expected`, `lower`, `upper`, `score`, `is_anomaly`, `warmup`; `detect_many` for frames with
  other column names.
- `warmup_periods(freq)`: how many first periods of every series are not scored (14 days).
- `detect_multivariate(frame, id_col, ds_col, feature_cols)`: unusual days across an entity's
  metrics, with the top contributing metric.
- `anomaly_windows(result)`: contiguous anomalous windows (start, end, peak score, direction).
"""

from ._grid import AnomalyError, AnomalyWarning, warmup_periods
from .multivariate import detect_multivariate
from .univariate import DEFAULT_SENSITIVITY, detect, detect_many, threshold_for
from .windows import AnomalyWindow, anomaly_windows

__all__ = [
    "DEFAULT_SENSITIVITY",
    "AnomalyError",
    "AnomalyWarning",
    "AnomalyWindow",
    "anomaly_windows",
    "detect",
    "detect_many",
    "detect_multivariate",
    "threshold_for",
    "warmup_periods",
]
