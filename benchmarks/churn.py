"""Churn model timings at demo scale 1: training (feature queries + model choice + fit + evaluation)
and scoring (features for the scoring date + predictions with per-customer attributions).

    .venv/bin/python benchmarks/churn.py [path/to/warehouse.duckdb]

The warehouse must hold the dbt marts (see the `dbt build` line in the README)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from analytics.churn import customer_features, default_dates, train_and_evaluate
from analytics.settings import load_settings


def main() -> None:
    path = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/h_churn/warehouse.duckdb")
    settings = load_settings(duckdb_path=path, data_dir=path.parent)
    score_date, eval_date, train_dates = default_dates(settings)
    t0 = time.perf_counter()
    model = train_and_evaluate(settings, train_dates, eval_date)
    train_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    features = customer_features(settings, score_date)
    t2 = time.perf_counter()
    predictions = model.predict(features)
    t3 = time.perf_counter()
    m = model.metrics
    print(f"warehouse {path}")
    print(f"training: {train_s:.2f} s ({len(train_dates)} monthly snapshots, {m['n_train']} rows; "
          f"queries {m['query_seconds']:.2f} s, final fit {m['fit_seconds']:.2f} s; model {m['model']})")  # fmt: skip
    print(f"evaluation {m['eval_as_of']}: ROC AUC {m['roc_auc']:.3f}, PR AUC {m['pr_auc']:.3f}, "
          f"Brier {m['brier']:.4f}, base rate {m['base_rate']:.3f}, n {m['n']}")  # fmt: skip
    print(f"scoring {score_date}: {predictions.height} customers in {t3 - t1:.2f} s "
          f"(features {t2 - t1:.2f} s, predict + attributions {t3 - t2:.2f} s)")  # fmt: skip


if __name__ == "__main__":
    main()
