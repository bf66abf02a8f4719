"""The churn model: trained on monthly snapshots, evaluated on a later one, explained per customer.

- Candidates: a logistic regression (median imputation, standard scaling, one-hot plans and
  segments) and a shallow histogram gradient-boosting classifier. The last training snapshot is
  held out for validation (the others fitted on snapshots whose label windows end before it); the
  better ROC AUC wins, the logistic regression unless the trees beat it by more than 0.01. The
  winner is refitted on every training snapshot.
- Evaluation: the snapshots of the period after training (EVAL_SNAPSHOTS month starts, pooled),
  every training label window ending on or before the first, so no evaluated outcome was seen in
  training. ROC AUC, PR AUC (average precision), Brier score,
  base rate and counts are recorded in `ChurnModel.metrics`.
- Attributions (`risk_factors`): for the logistic regression, coefficient x the customer's
  standardised value (centred on the training mean; one-hot columns summed back to their
  feature); for the trees, the probability change when the feature is replaced by its training
  median (mode for categoricals). The three largest risk-raising contributions are listed.
- `expected_days_to_churn` assumes a constant hazard over the horizon: p = 1 - exp(-lambda h), so
  lambda = -ln(1 - p) / h and the expected time to churn is 1 / lambda (capped at 3,650 days).
- `confidence` is data completeness: the share of the model's inputs known for the customer,
  halved for customers paying for less than 3 months (their trend windows predate them).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from analytics.churn.features import (
    CATEGORICAL_FEATURES,
    HEALTH_FEATURES,
    NUMERIC_FEATURES,
    NoCustomersError,
    customer_features,
    data_end,
    data_start,
    snapshot_features,
    snapshot_labels,
)
from analytics.metrics import add_months, data_through, period_start
from analytics.settings import Settings

log = logging.getLogger(__name__)

ModelKind = Literal["logistic_regression", "gradient_boosting"]
MAX_EXPECTED_DAYS = 3650.0
TOP_FACTORS = 3


def _make_pipeline(kind: ModelKind, numeric: list[str], categorical: list[str]) -> Pipeline:
    onehot = OneHotEncoder(handle_unknown="ignore", sparse_output=False)
    if kind == "logistic_regression":
        num = Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                        ("scale", StandardScaler())])  # fmt: skip
        pre = ColumnTransformer([("num", num, numeric), ("cat", onehot, categorical)])
        clf: Any = LogisticRegression(C=0.3, max_iter=5000)
    else:
        pre = ColumnTransformer([("num", "passthrough", numeric), ("cat", onehot, categorical)])
        clf = HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05, max_iter=200,
                                             min_samples_leaf=20, l2_regularization=1.0, random_state=0)  # fmt: skip
    return Pipeline([("pre", pre), ("clf", clf)])


def _to_pandas_like(frame: pl.DataFrame, numeric: list[str], categorical: list[str]) -> Any:
    """The model inputs as a pandas frame (ColumnTransformer selects columns by name); model columns
    missing from `frame` are added as nulls / "unknown"."""
    missing = [c for c in numeric if c not in frame.columns]
    frame = frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(c) for c in missing)
    missing_cat = [c for c in categorical if c not in frame.columns]
    frame = frame.with_columns(pl.lit("unknown").alias(c) for c in missing_cat)
    return frame.select(
        [pl.col(c).cast(pl.Float64).fill_nan(None) for c in numeric]
        + [pl.col(c).cast(pl.String).fill_null("unknown") for c in categorical]
    ).to_pandas()


@dataclass
class ChurnModel:
    """A fitted churn classifier with its evaluation."""

    kind: ModelKind
    pipeline: Pipeline
    numeric_features: list[str]
    categorical_features: list[str]
    horizon_days: int
    train_as_of: list[dt.date]
    eval_as_of: dt.date | None
    metrics: dict[str, Any] = field(default_factory=dict)
    reference: dict[str, Any] = field(
        default_factory=dict
    )  # medians / modes / means for attributions

    @property
    def features(self) -> list[str]:
        return self.numeric_features + self.categorical_features

    def predict_proba(self, features: pl.DataFrame) -> np.ndarray:
        return self.pipeline.predict_proba(
            _to_pandas_like(features, self.numeric_features, self.categorical_features)
        )[:, 1]

    def attributions(self, features: pl.DataFrame) -> np.ndarray:
        """Per-customer, per-feature contribution to churn risk (rows x self.features)."""
        x = _to_pandas_like(features, self.numeric_features, self.categorical_features)
        if self.kind == "logistic_regression":
            pre = self.pipeline.named_steps["pre"]
            coef = self.pipeline.named_steps["clf"].coef_[0]
            z = pre.transform(x) - self.reference["transformed_mean"]
            contrib = z * coef
            owners = self.reference[
                "column_owner"
            ]  # transformed column -> index into self.features
            out = np.zeros((len(x), len(self.features)))
            for j, owner in enumerate(owners):
                out[:, owner] += contrib[:, j]
            return out
        base = self.pipeline.predict_proba(x)[:, 1]
        out = np.zeros((len(x), len(self.features)))
        for i, name in enumerate(self.features):
            swapped = x.copy()
            swapped[name] = self.reference["typical"][name]
            out[:, i] = base - self.pipeline.predict_proba(swapped)[:, 1]
        return out

    def predict(self, features: pl.DataFrame) -> pl.DataFrame:
        """customer_id, churn_probability, expected_days_to_churn, risk_factors, confidence.

        `risk_factors` is a list of {feature, value, contribution} structs: the three largest
        contributions towards churn for that customer (log-odds for the logistic regression,
        probability for the trees)."""
        if features.is_empty():
            raise NoCustomersError("no customers to score")
        p = np.clip(self.predict_proba(features), 0.0, 1.0)
        contrib = self.attributions(features)
        hazard = -np.log1p(-np.clip(p, 0.0, 1 - 1e-9)) / self.horizon_days
        with np.errstate(divide="ignore"):
            days = np.where(
                hazard > 0, np.minimum(1.0 / hazard, MAX_EXPECTED_DAYS), MAX_EXPECTED_DAYS
            )
        cols = [c for c in self.numeric_features if c in features.columns]
        known = features.select(pl.sum_horizontal(pl.col(c).is_not_null() & pl.col(c).is_not_nan() for c in cols)
                                ).to_series().to_numpy() if cols else np.zeros(features.height)  # fmt: skip
        completeness = known / max(len(self.numeric_features), 1)
        if "tenure_months" in features.columns:
            young = features["tenure_months"].fill_null(0).to_numpy() < 3
            completeness = np.where(young, completeness * 0.5, completeness)
        factors = []
        for row in range(features.height):
            order = np.argsort(-contrib[row])[:TOP_FACTORS]
            factors.append([
                {"feature": self.features[i], "value": _value(features, self.features[i], row),
                 "contribution": round(float(contrib[row, i]), 4)}
                for i in order
            ])  # fmt: skip
        return pl.DataFrame({
            "customer_id": features["customer_id"],
            "churn_probability": p,
            "expected_days_to_churn": np.round(days, 1),
            "risk_factors": factors,
            "confidence": np.round(completeness, 3),
        }, schema_overrides={"risk_factors": pl.List(pl.Struct(
            {"feature": pl.String, "value": pl.String, "contribution": pl.Float64}))}).sort(
            "churn_probability", descending=True)  # fmt: skip


def _value(features: pl.DataFrame, name: str, row: int) -> str:
    if name not in features.columns:
        return "missing"
    v = features[name][row]
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "missing"
    return f"{v:.3g}" if isinstance(v, float) else str(v)


def _fit(kind: ModelKind, data: pl.DataFrame, numeric: list[str], categorical: list[str],
         horizon_days: int, train_as_of: list[dt.date]) -> ChurnModel:  # fmt: skip
    x = _to_pandas_like(data, numeric, categorical)
    y = data["churned"].cast(pl.Int8).to_numpy()
    pipe = _make_pipeline(kind, numeric, categorical)
    pipe.fit(x, y)
    model = ChurnModel(kind, pipe, numeric, categorical, horizon_days, sorted(train_as_of), None)
    features = model.features
    if kind == "logistic_regression":
        pre = pipe.named_steps["pre"]
        model.reference["transformed_mean"] = pre.transform(x).mean(axis=0)
        owners = []
        for name in pre.get_feature_names_out():
            group, _, col = name.partition("__")
            owner = (
                col if group == "num" else next(c for c in categorical if col.startswith(c + "_"))
            )
            owners.append(features.index(owner))
        model.reference["column_owner"] = owners
    typical: dict[str, Any] = {}
    for c in numeric:
        med = x[c].median()
        typical[c] = float(med) if not np.isnan(med) else np.nan
    for c in categorical:
        typical[c] = x[c].mode().iloc[0]
    model.reference["typical"] = typical
    return model


def _model_inputs(frame: pl.DataFrame) -> tuple[list[str], list[str]]:
    numeric = [
        c
        for c in NUMERIC_FEATURES + HEALTH_FEATURES
        if c in frame.columns and frame[c].null_count() < frame.height
    ]
    return numeric, [c for c in CATEGORICAL_FEATURES if c in frame.columns]


def _scores(y: np.ndarray, p: np.ndarray) -> dict[str, float | None]:
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else None,
        "pr_auc": float(average_precision_score(y, p)) if both else None,
        "brier": float(brier_score_loss(y, p)),
    }


def labelled_snapshots(settings: Settings, dates: list[dt.date], horizon_days: int) -> pl.DataFrame:
    feats = snapshot_features(settings, dates)
    labels = snapshot_labels(settings, dates, horizon_days)
    return feats.join(labels, on=["as_of", "customer_id"], how="inner")


def train_and_evaluate(settings: Settings, train_as_of: list[dt.date],
                       eval_as_of: dt.date | Sequence[dt.date], horizon_days: int = 90) -> ChurnModel:  # fmt: skip
    """Fit on the snapshots at `train_as_of`, evaluate on the snapshot(s) at `eval_as_of` (the
    period after training: its customer-snapshots pooled).

    Every training label window must end by the first evaluation date (train date + horizon <=
    eval date)."""
    if not train_as_of:
        raise ValueError("train_as_of is empty: give at least one snapshot date")
    evals = sorted({eval_as_of} if isinstance(eval_as_of, dt.date) else set(eval_as_of))
    if not evals:
        raise ValueError("eval_as_of is empty: give at least one evaluation date")
    first_eval = evals[0]
    overlap = [d for d in train_as_of if d + dt.timedelta(days=horizon_days) > first_eval]
    if overlap:
        raise ValueError(f"training label windows overlap the evaluation date {first_eval}: "
                         f"{', '.join(map(str, sorted(overlap)))} + {horizon_days} days is later")  # fmt: skip
    t0 = time.perf_counter()
    data = labelled_snapshots(settings, sorted(set(train_as_of)) + evals, horizon_days)
    train = data.filter(~pl.col("as_of").is_in(evals))
    test = data.filter(pl.col("as_of").is_in(evals))
    if train.is_empty():
        raise NoCustomersError(f"no paying customers at the training dates {sorted(train_as_of)}")
    if test.is_empty():
        raise NoCustomersError(f"no paying customers at the evaluation date(s) {', '.join(map(str, evals))}")
    if train["churned"].n_unique() < 2:
        raise ValueError(
            "the training snapshots hold only one class (no churn or only churn): add dates"
        )
    numeric, categorical = _model_inputs(train)
    t_query = time.perf_counter() - t0

    # model choice on the last training snapshot, fitted on snapshots whose labels end before it
    dates = sorted(set(train["as_of"].to_list()))
    val_date = dates[-1]
    early = [d for d in dates if d + dt.timedelta(days=horizon_days) <= val_date]
    validation: dict[str, float | None] = {}
    kind: ModelKind = "logistic_regression"
    fit_part = train.filter(pl.col("as_of").is_in(early))
    val_part = train.filter(pl.col("as_of") == val_date)
    if early and fit_part["churned"].sum() >= 5 and val_part["churned"].n_unique() == 2:
        for cand in ("logistic_regression", "gradient_boosting"):
            m = _fit(cand, fit_part, numeric, categorical, horizon_days, early)
            validation[cand] = _scores(
                val_part["churned"].cast(pl.Int8).to_numpy(), m.predict_proba(val_part)
            )["roc_auc"]
        lr, gb = validation["logistic_regression"] or 0.0, validation["gradient_boosting"] or 0.0
        kind = "gradient_boosting" if gb > lr + 0.01 else "logistic_regression"
    t1 = time.perf_counter()
    model = _fit(kind, train, numeric, categorical, horizon_days, dates)
    fit_seconds = time.perf_counter() - t1
    y = test["churned"].cast(pl.Int8).to_numpy()
    p = model.predict_proba(test)
    model.eval_as_of = first_eval
    model.metrics = {
        **_scores(y, p),
        "base_rate": float(y.mean()),
        "n": len(y),
        "n_churned": int(y.sum()),
        "n_train": int(train.height),
        "n_train_churned": int(train["churned"].sum()),
        "train_as_of": [d.isoformat() for d in dates],
        "eval_as_of": first_eval.isoformat(),
        "eval_snapshots": [d.isoformat() for d in evals],
        "horizon_days": horizon_days,
        "model": kind,
        "validation_as_of": val_date.isoformat() if validation else None,
        "validation_roc_auc": validation,
        "features": model.features,
        "query_seconds": round(t_query, 3),
        "fit_seconds": round(fit_seconds, 3),
        "train_seconds": round(time.perf_counter() - t0, 3),
    }
    if model.metrics["roc_auc"] is None:
        log.warning("evaluation snapshots %s hold one class only: ROC/PR AUC undefined", evals)
    return model


EVAL_SNAPSHOTS = 3  # month-start snapshots pooled for the evaluation: one month of a small
# company holds a handful of churners (2 to 11 in the demo at scale 0.3 to 1), too few for an AUC


def default_dates(settings: Settings, as_of: dt.date | None = None, horizon_days: int = 90,
                  min_history_days: int = 90) -> tuple[dt.date, list[dt.date], list[dt.date]]:  # fmt: skip
    """(scoring cutoff, evaluation cutoffs, training cutoffs) from the data; cutoffs in the
    features' sense (data before the cutoff is seen).

    Scoring: the day after `as_of`, by default the last day of data (`metrics.data_through`), so
    the scores use every day there is. Evaluation: the latest EVAL_SNAPSHOTS month starts whose
    label windows are fully observed (the period after training). Training: month starts from
    `min_history_days` after the first paying day, each label window ending by the first
    evaluation cutoff."""
    last, first = data_end(settings), data_start(settings)
    observed = as_of or min(last, data_through(settings) or last)
    score = observed + dt.timedelta(days=1)
    latest_eval = period_start(min(last + dt.timedelta(days=1), score) - dt.timedelta(days=horizon_days), "month")
    evals = [add_months(latest_eval, -k) for k in reversed(range(EVAL_SNAPSHOTS))]
    start = period_start(first + dt.timedelta(days=min_history_days + 30), "month")
    train, d = [], start
    while d + dt.timedelta(days=horizon_days) <= evals[0]:
        train.append(d)
        d = add_months(d, 1)
    if len(train) < 2:
        raise ValueError(f"not enough history for a churn model: data {first}..{last}, evaluation "
                         f"{evals[0]}..{evals[-1]}, {len(train)} training month(s) with a {horizon_days}-day horizon")  # fmt: skip
    return score, evals, train


HORIZONS_DAYS = (30, 90)  # the 90-day model is the primary one (`churn_probability`)


@dataclass
class ChurnRun:
    """One model per horizon, each evaluated on the period after its training.

    `predictions`: customer_id, churn_probability (90 days), churn_probability_30d,
    expected_days_to_churn, risk_factors and confidence (from the 90-day model), as_of (the last
    day of data the scores use) and scored_for (the first day the horizons count from).
    `metrics`: the primary model's evaluation plus `horizons`: {days: that model's evaluation}."""

    predictions: pl.DataFrame
    metrics: dict[str, Any]
    model: ChurnModel
    models: dict[int, ChurnModel] = field(default_factory=dict)


def run(settings: Settings, as_of: dt.date | None = None,
        horizons_days: tuple[int, ...] = HORIZONS_DAYS) -> ChurnRun:  # fmt: skip
    """Train, evaluate and score one model per horizon, with dates picked from the data
    (`default_dates`): customers paying on `as_of` (default: the last day of data), scored from
    everything up to and including that day."""
    if not horizons_days:
        raise ValueError("give at least one horizon in days")
    primary = max(horizons_days)
    models: dict[int, ChurnModel] = {}
    for h in sorted(set(horizons_days)):
        score_date, eval_dates, train_dates = default_dates(settings, as_of, h)
        models[h] = train_and_evaluate(settings, train_dates, eval_dates, h)
    t0 = time.perf_counter()
    features = customer_features(settings, score_date)
    predictions = models[primary].predict(features)
    for h, model in models.items():
        if h != primary:
            extra = pl.DataFrame({"customer_id": features["customer_id"],
                                  f"churn_probability_{h}d": np.clip(model.predict_proba(features), 0.0, 1.0)})  # fmt: skip
            predictions = predictions.join(extra, on="customer_id", how="left")
    observed = score_date - dt.timedelta(days=1)
    predictions = predictions.with_columns(pl.lit(observed).alias("as_of"), pl.lit(score_date).alias("scored_for"))
    metrics = {**models[primary].metrics, "scored_as_of": observed.isoformat(), "n_scored": predictions.height,
               "score_seconds": round(time.perf_counter() - t0, 3),
               "horizons": {h: m.metrics for h, m in models.items()}}  # fmt: skip
    for h, model in models.items():  # flat figures per horizon for the evaluation table
        metrics |= {f"{k}_{h}d": model.metrics.get(k) for k in ("roc_auc", "pr_auc", "brier", "base_rate", "n_churned")}
    return ChurnRun(predictions, metrics, models[primary], models)
