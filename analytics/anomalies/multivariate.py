"""Multivariate detection: unusual days across several metrics of one entity (a customer's
requests, errors, latency, feature events), judged against that entity's own history.

1. Every (entity, metric) series goes through the univariate model (`detect`'s seasonal
   baseline and robust noise scale), giving a signed robust z-score per metric and day.
2. Per entity, the metrics' z-scores are combined into a robust Mahalanobis distance
   d^2 = z' C^-1 z, with C the entity's own correlation between its metrics' z-scores (winsorised
   at +/-3 so that anomalies do not shape it, shrunk 10% towards the identity). Metrics that
   usually move together (requests and feature events) are not double-counted; a pattern that
   breaks their usual relation (errors up while requests are flat) stands out.
3. d^2 is turned into the equivalent univariate score (the z with the same tail probability as
   d^2 under a chi-square with one degree of freedom per metric), so `is_anomaly` = score > k
   with the same k = 8 - 6 x sensitivity as `detect`.
4. The top feature is the metric with the largest share of d^2 (z_i x (C^-1 z)_i, which sum
   to d^2); its signed z gives the direction.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy.special import ndtri_exp
from scipy.stats import chi2

from ._grid import UID, AnomalyError, grain_of, grid_index, validate_series, warn_short
from .univariate import DEFAULT_SENSITIVITY, Options, fit_frame, threshold_for

WINSOR = 3.0
SHRINK = 0.1


def detect_multivariate(
    frame: pl.DataFrame,
    id_col: str = UID,
    ds_col: str = "ds",
    feature_cols: Sequence[str] | None = None,
    sensitivity: float = DEFAULT_SENSITIVITY,
    *,
    freq: str = "D",
    seasonality: str | Sequence[str] | None = "auto",
    transform: str = "auto",
    baseline: str = "centred",
    min_points: int | None = None,
) -> pl.DataFrame:
    """Score every (id, ds) of a long frame of several metrics per entity.

    frame: one row per entity and period; `id_col`, `ds_col` and the numeric `feature_cols`
        (default: every other numeric column). Nulls are missing values (fill zeros yourself
        where "no row" means zero).
    sensitivity, freq, seasonality, transform, baseline, min_points: as for `detect`, applied to
        every metric series. An entity whose metrics are all too short is not judged.

    Returns one row per input row, sorted by id and ds: `id_col`, `ds_col`, `score` (the
    equivalent univariate robust z of the combined distance), `is_anomaly` (score > k),
    `top_feature`, `top_share` (its share of the squared distance, 0-1), `direction` ("up" or
    "down": the sign of the top feature's deviation) and `z_<feature>` (signed robust z-score
    per metric, null where the metric is missing, not judged or in its warm-up: see
    `warmup_periods`; a row whose metrics are all in their warm-up has a null score).
    """
    k = threshold_for(sensitivity)
    grain = grain_of(freq)
    if not isinstance(frame, pl.DataFrame):
        raise AnomalyError(f"frame must be a polars DataFrame, got {type(frame).__name__}")
    if feature_cols is None:
        feature_cols = [
            c for c, t in frame.schema.items() if c not in (id_col, ds_col) and t.is_numeric()
        ]
    features = list(feature_cols)
    if not features:
        raise AnomalyError("no feature columns: pass feature_cols (numeric columns of frame)")
    if len(set(features)) != len(features) or id_col in features or ds_col in features:
        raise AnomalyError(
            f"feature_cols must be distinct and differ from {id_col!r} and {ds_col!r}"
        )
    for f in features:
        validate_series(frame, ds_col, f, id_col)
    options = Options.parse(grain, seasonality, transform, baseline, min_points)

    base = frame.select(
        pl.col(id_col).alias("_id"),
        pl.col(ds_col).alias("ds"),
        (pl.col(id_col).rank("dense") - 1).cast(pl.Int64).alias("_c"),
    )
    dup = base.with_columns(grid_index(pl.col("ds"), grain).alias("_t")).filter(
        pl.struct("_c", "_t").is_duplicated()
    )
    if dup.height:
        raise AnomalyError(
            f"{id_col} {dup['_id'][0]!r} has more than one row in the {grain.name} period of {dup['ds'][0]}: "
            "aggregate to one row per entity and period first"
        )
    p = len(features)
    long = pl.concat([
        base.select((pl.col("_c") * p + i).alias(UID), "ds", frame[f].cast(pl.Float64).alias("y"))
        for i, f in enumerate(features)
    ])  # fmt: skip
    fitted, short = fit_frame(long, grain, options)
    n = base.height
    z_long = np.full(n * p, np.nan)
    z_long[fitted["_row"].to_numpy()] = (fitted["_resid"] / fitted["_sigma"]).to_numpy()
    judged = np.unique(fitted.filter(pl.col("_sigma").is_not_null())[UID].to_numpy() // p)
    skipped_codes = sorted({int(s) // p for s in short} - set(judged.tolist()))  # type: ignore[call-overload]
    if skipped_codes:
        names = (
            base.filter(pl.col("_c").is_in(skipped_codes)).unique("_c").sort("_c")["_id"].to_list()
        )
        warn_short(names, grain, options.min_points, noun="entities")
    order = base.with_row_index("_i").sort("_c", "ds")["_i"].to_numpy()
    zmat = z_long.reshape(p, n).T[order]  # rows of `base`, sorted by entity and ds
    z = base[order]
    ids = z["_c"].to_numpy()
    score, top, share, sign = _combine(zmat, ids)
    out = z.select(
        pl.col("_id").alias(id_col),
        pl.col("ds").alias(ds_col),
        pl.Series("score", score, nan_to_null=True),
    ).with_columns(
        (pl.col("score") > k).fill_null(False).alias("is_anomaly"),
        pl.Series(
            "top_feature", np.array([*features, None], dtype=object)[top].tolist(), dtype=pl.String
        ),
        pl.Series("top_share", share, nan_to_null=True),
        pl.Series(
            "direction",
            np.where(top < 0, None, np.where(sign > 0, "up", "down")).tolist(),
            dtype=pl.String,
        ),
        *[pl.Series(f"z_{f}", zmat[:, i], nan_to_null=True) for i, f in enumerate(features)],
    )
    return out


def _combine(
    zmat: np.ndarray, ids: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per entity: robust Mahalanobis distance of each row's z-vector, its equivalent univariate
    score, the top contributing feature, its share and the sign of its z."""
    n, p = zmat.shape
    score = np.full(n, np.nan)
    top = np.full(n, -1)
    share = np.full(n, np.nan)
    sign = np.zeros(n)
    if n == 0:
        return score, top, share, sign
    bounds = np.append(np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]]), n)  # ids sorted
    for a, b in itertools.pairwise(bounds):
        z = zmat[a:b]
        seen = np.isfinite(z)
        rows = seen.any(axis=1)
        if not rows.any():
            continue
        filled = np.where(seen, z, 0.0)  # a missing metric is no evidence either way
        w = np.clip(filled[rows], -WINSOR, WINSOR)
        cov = w.T @ w / max(1, w.shape[0])
        d = np.sqrt(np.clip(np.diag(cov), 1e-12, None))
        corr = cov / np.outer(d, d)
        corr = (1 - SHRINK) * corr + SHRINK * np.eye(p)
        inv = np.linalg.pinv(corr)
        proj = filled @ inv
        contrib = filled * proj  # sums to d^2 per row
        d2 = contrib.sum(axis=1)
        dof = seen.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            eq = -ndtri_exp(chi2.logsf(d2, np.maximum(dof, 1)) - np.log(2.0))
        eq = np.where(np.isfinite(eq), eq, np.sqrt(np.maximum(d2, 0.0)))
        eq = np.maximum(eq, 0.0)
        best = np.argmax(np.where(seen, contrib, -np.inf), axis=1)
        idx = np.arange(b - a)
        score[a:b] = np.where(rows, eq, np.nan)
        top[a:b] = np.where(rows, best, -1)
        with np.errstate(divide="ignore", invalid="ignore"):
            share[a:b] = np.where(
                rows & (d2 > 0), np.clip(contrib[idx, best] / d2, 0.0, 1.0), np.nan
            )
        sign[a:b] = np.sign(filled[idx, best])
    return score, top, share, sign
