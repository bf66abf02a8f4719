"""Lead scoring: a conversion probability per lead with a transparent breakdown.

Model
-----
One logistic regression on standardised lead features (scikit-learn, L2, C = 0.5, lbfgs:
deterministic). The features form four groups, the seed's score breakdown:

| group | features (from `marts.fct_leads`) |
|---|---|
| demographic | log(1 + employee_count), job_title, industry (one-hot) |
| behavioral | log(1 + page_views), log(1 + pricing_page_views) |
| engagement | log(1 + email_opens), webinar_attended, touched by a campaign |
| intent | demo_requested, lead_source (one-hot) |

Funnel-stage fields (`funnel_stage`, `reached_*`, `opportunity_count`) are outcomes, never features.

- `total_score` = 100 x the model's conversion probability (the logistic regression's own
  probability: calibrated on the leads whose outcome is known).
- each sub-score = 100 x sigmoid(the group's share of the log-odds), the share being
  sum(weight x standardised feature) over the group's features. Features are centred on the
  training leads, so 50 = an average lead on that group, above 50 pushes towards conversion.
  The four shares plus the intercept add up to the total's log-odds exactly.

Training labels (outcome known as of the data's last timestamp): converted = 1; disqualified = 0;
still open (new, mql, sql, opportunity) and created more than `STALE_AFTER_DAYS` days before the
as-of = 0 (demo customers convert 3-40 days after the lead is created: an open lead that old has
gone cold). Younger open leads are unlabelled: scored, not trained on.

Evaluation (`LeadScoringRun.metrics`): labelled leads sorted by creation; the first 70 % (by
creation date, a whole day never split) train, the later 30 % test. ROC AUC, precision in the top
decile of the test leads, Brier score, base rate. The scores themselves come from the same model
refitted on every labelled lead.

Qualification (`qualification_status`), thresholds on `total_score`:

| status | rule |
|---|---|
| opportunity | score >= 60, or the CRM already has the lead at opportunity or customer |
| sql | score >= 35, or the CRM already has the lead at sql |
| mql | score >= 10 |
| disqualified | score < 10, or the CRM disqualified the lead (a sales decision stands) |

The status is the higher of the score's band and the CRM's stage (a lead is never demoted below
where sales already took it), except that a CRM disqualification always wins.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from analytics.settings import Settings
from analytics.warehouse import run_query

STALE_AFTER_DAYS = 90
TEST_FRACTION = 0.3
REGULARISATION_C = 0.5
OPPORTUNITY_MIN_SCORE = 60.0
SQL_MIN_SCORE = 35.0
MQL_MIN_SCORE = 10.0
QUALIFICATION_STATUSES = ("mql", "sql", "opportunity", "disqualified")
GROUPS = ("demographic", "behavioral", "engagement", "intent")
_RANK = {"disqualified": 0, "mql": 1, "sql": 2, "opportunity": 3}
_CRM_FLOOR = {"customer": "opportunity", "opportunity": "opportunity", "sql": "sql"}

# numeric features: name -> (group, expression on fct_leads)
_NUMERIC: dict[str, tuple[str, pl.Expr]] = {
    "log_employee_count": ("demographic", pl.col("employee_count").fill_null(0).clip(0).log1p()),
    "log_page_views": ("behavioral", pl.col("page_views").fill_null(0).clip(0).log1p()),
    "log_pricing_page_views": (
        "behavioral",
        pl.col("pricing_page_views").fill_null(0).clip(0).log1p(),
    ),
    "log_email_opens": ("engagement", pl.col("email_opens").fill_null(0).clip(0).log1p()),
    "webinar_attended": (
        "engagement",
        pl.col("webinar_attended").fill_null(False).cast(pl.Float64),
    ),
    "campaign_touched": ("engagement", pl.col("campaign_id").is_not_null().cast(pl.Float64)),
    "demo_requested": ("intent", pl.col("demo_requested").fill_null(False).cast(pl.Float64)),
}
# categorical features (one-hot over the categories present): column -> group
_CATEGORICAL: dict[str, str] = {
    "job_title": "demographic",
    "industry": "demographic",
    "lead_source": "intent",
}
FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    g: tuple(
        [n for n, (gg, _) in _NUMERIC.items() if gg == g]
        + [c for c, gg in _CATEGORICAL.items() if gg == g]
    )
    for g in GROUPS
}

_LEADS_SQL = """
select lead_id, created_at, funnel_stage, is_converted, is_disqualified, converted_at, campaign_id,
       lead_source, employee_count, industry, job_title, page_views, pricing_page_views,
       email_opens, webinar_attended, demo_requested
from marts.fct_leads
"""


class LeadScoringError(RuntimeError):
    """The leads cannot be scored (no leads, or no converted / no lost leads to learn from)."""


@dataclass(frozen=True)
class LeadScoringMetrics:
    """Evaluation on the later time split (see the module docstring)."""

    roc_auc: float | None
    precision_at_top_decile: float | None
    brier: float | None
    base_rate_test: float | None
    mean_predicted_test: float | None
    n_train: int
    n_test: int
    n_labelled: int
    n_scored: int
    train_start: dt.date | None
    test_start: dt.date | None
    test_end: dt.date | None
    stale_after_days: int = STALE_AFTER_DAYS
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in d.items()}


@dataclass(frozen=True)
class LeadScoringRun:
    """`scores`: one row per lead (lead_id, total_score, demographic, behavioral, engagement,
    intent, qualification_status, next_actions, last_updated). `metrics`: the time-split
    evaluation. `coefficients`: feature, group, weight (log-odds per standard deviation) of the
    scoring model, for explanation."""

    scores: pl.DataFrame
    metrics: LeadScoringMetrics
    coefficients: pl.DataFrame
    as_of: dt.datetime


def score_leads(settings: Settings) -> LeadScoringRun:
    """Score every lead of `marts.fct_leads` (see the module docstring)."""
    return score_leads_frame(run_query(settings, _LEADS_SQL))


def score_leads_frame(leads: pl.DataFrame, as_of: dt.datetime | None = None) -> LeadScoringRun:
    """Score a frame shaped like `marts.fct_leads` (pure: no warehouse access). `as_of`: the
    moment outcomes are judged at (default: the latest created_at / converted_at in the frame)."""
    if leads.height == 0:
        raise LeadScoringError("no leads to score: marts.fct_leads is empty")
    leads = leads.sort("created_at", "lead_id")
    if as_of is None:
        stamps = [leads["created_at"].max()] + (
            [leads["converted_at"].max()] if "converted_at" in leads.columns else []
        )
        as_of = max(s for s in stamps if s is not None)  # type: ignore[type-var]
    assert isinstance(as_of, dt.datetime)
    age_days = (pl.lit(as_of) - pl.col("created_at")).dt.total_seconds() / 86400
    labelled = leads.with_columns(
        pl.when(pl.col("is_converted")).then(1)
        .when(pl.col("is_disqualified") | (age_days > STALE_AFTER_DAYS)).then(0)
        .otherwise(None).alias("_label"),
        pl.col("created_at").dt.date().alias("_created_date"),
    )  # fmt: skip
    names, groups, X = _design(labelled)
    y_all = labelled["_label"].to_numpy()
    known = ~np.isnan(y_all.astype(float))
    y = y_all[known].astype(int)
    if y.size == 0 or y.min() == y.max():
        raise LeadScoringError(
            f"need both converted and lost leads to learn from; labelled {int(known.sum())}, converted {int(y.sum())}"
        )
    metrics = _evaluate(X[known], y, labelled["_created_date"].to_numpy()[known], leads.height)

    mean, scale, model = _fit(X[known], y)
    z = (X - mean) / scale
    contrib = z * model.coef_[0]
    group_logit = {
        g: contrib[:, [i for i, gg in enumerate(groups) if gg == g]].sum(axis=1) for g in GROUPS
    }
    total = 100 * model.predict_proba(z)[:, 1]
    sub = {g: 100 / (1 + np.exp(-group_logit[g])) for g in GROUPS}

    scores = pl.DataFrame(
        {
            "lead_id": labelled["lead_id"],
            "total_score": np.round(total, 2),
            **{g: np.round(sub[g], 2) for g in GROUPS},
        }
    ).with_columns(pl.col(pl.Float64).clip(0.0, 100.0))
    context = labelled.select("funnel_stage", "demo_requested", "pricing_page_views")
    statuses, actions = [], []
    for row, ctx in zip(scores.iter_rows(named=True), context.iter_rows(named=True), strict=True):
        status = qualification_status(row["total_score"], ctx["funnel_stage"])
        statuses.append(status)
        actions.append(next_actions(status, row, ctx))
    scores = scores.with_columns(
        pl.Series("qualification_status", statuses, pl.String),
        pl.Series("next_actions", actions, pl.List(pl.String)),
        pl.lit(as_of).alias("last_updated"),
    ).sort("lead_id")
    coefficients = pl.DataFrame(
        {"feature": names, "group": groups, "weight": np.round(model.coef_[0], 6)}
    ).sort("group", "feature")
    return LeadScoringRun(scores=scores, metrics=metrics, coefficients=coefficients, as_of=as_of)


def qualification_status(total_score: float, funnel_stage: str | None) -> str:
    """The documented thresholds (module docstring), combined with the CRM's stage."""
    if funnel_stage == "disqualified":
        return "disqualified"
    if total_score >= OPPORTUNITY_MIN_SCORE:
        band = "opportunity"
    elif total_score >= SQL_MIN_SCORE:
        band = "sql"
    elif total_score >= MQL_MIN_SCORE:
        band = "mql"
    else:
        band = "disqualified"
    floor = _CRM_FLOOR.get(funnel_stage or "")
    return floor if floor is not None and _RANK[floor] > _RANK[band] else band


_WEAK_GROUP_ACTION = {
    "demographic": "Confirm company size and buying role (weak fit signal)",
    "behavioral": "Send a targeted case study to bring them back to the product and pricing pages",
    "engagement": "Invite to the next webinar",
    "intent": "Offer a product demo",
}


def next_actions(status: str, scores: dict[str, Any], ctx: dict[str, Any]) -> list[str]:
    """Deterministic next steps from the status, the CRM stage and the weakest sub-score."""
    stage = ctx.get("funnel_stage")
    total = float(scores["total_score"])
    if stage == "customer":
        return ["Converted: hand over to customer success for onboarding"]
    if status == "disqualified":
        out = ["No sales follow-up: keep in the low-touch newsletter"]
        if stage == "disqualified" and total >= SQL_MIN_SCORE:
            out.append(
                f"Review the disqualification: score {total:.0f} is above the SQL threshold ({SQL_MIN_SCORE:.0f})"
            )
        return out
    weakest = min(GROUPS, key=lambda g: (float(scores[g]), g))
    if status == "opportunity":
        out = ["Assign an account executive and send a proposal within 2 business days"]
    elif status == "sql":
        out = ["Book a discovery call within 48 hours"]
        if not ctx.get("demo_requested"):
            out.append("Offer a product demo")
    else:
        out = ["Enrol in the nurture email sequence"]
        if (ctx.get("pricing_page_views") or 0) > 0:
            out.append("Follow up on the pricing-page visits with a plan comparison")
    hint = _WEAK_GROUP_ACTION[weakest]
    if float(scores[weakest]) < 50 and hint not in out:
        out.append(hint)
    return out


# --- internals ------------------------------------------------------------------------------------


def _design(frame: pl.DataFrame) -> tuple[list[str], list[str], np.ndarray]:
    names: list[str] = []
    groups: list[str] = []
    exprs: list[pl.Expr] = []
    for name, (group, expr) in _NUMERIC.items():
        names.append(name)
        groups.append(group)
        exprs.append(expr.cast(pl.Float64).alias(name))
    for col, group in _CATEGORICAL.items():
        values = frame.get_column(col).fill_null("unknown")
        for cat in sorted(values.unique().to_list()):
            name = f"{col}={cat}"
            names.append(name)
            groups.append(group)
            exprs.append((pl.col(col).fill_null("unknown") == cat).cast(pl.Float64).alias(name))
    return names, groups, frame.select(exprs).to_numpy().astype(float)


def _fit(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, LogisticRegression]:
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=REGULARISATION_C, max_iter=5000)
    model.fit((X - mean) / scale, y)
    return mean, scale, model


def _evaluate(X: np.ndarray, y: np.ndarray, dates: np.ndarray, n_scored: int) -> LeadScoringMetrics:
    n = y.size
    cut_date = dates[min(n - 1, math.floor(n * (1 - TEST_FRACTION)))]
    train = dates < cut_date
    test = ~train
    notes: list[str] = []
    base = {
        "n_labelled": n,
        "n_scored": n_scored,
        "train_start": _date(dates[0]),
        "test_end": _date(dates[-1]),
    }
    if train.sum() == 0 or test.sum() == 0 or len(set(y[train])) < 2 or len(set(y[test])) < 2:
        notes.append(
            "not enough labelled leads of both outcomes on each side of the time split to evaluate"
        )
        return LeadScoringMetrics(None, None, None, None, None, int(train.sum()), int(test.sum()),
                                  test_start=_date(cut_date), notes=notes, **base)  # fmt: skip
    mean, scale, model = _fit(X[train], y[train])
    p = model.predict_proba((X[test] - mean) / scale)[:, 1]
    yt = y[test]
    k = max(1, math.ceil(yt.size / 10))
    top = np.argsort(-p, kind="stable")[:k]
    return LeadScoringMetrics(
        roc_auc=round(float(roc_auc_score(yt, p)), 4),
        precision_at_top_decile=round(float(yt[top].mean()), 4),
        brier=round(float(brier_score_loss(yt, p)), 4),
        base_rate_test=round(float(yt.mean()), 4),
        mean_predicted_test=round(float(p.mean()), 4),
        n_train=int(train.sum()),
        n_test=int(test.sum()),
        test_start=_date(cut_date),
        notes=notes,
        **base,  # type: ignore[arg-type]
    )


def _date(value: Any) -> dt.date:
    if isinstance(value, np.datetime64):
        return dt.date.fromisoformat(str(value.astype("datetime64[D]")))
    return value  # type: ignore[no-any-return]
