"""Analytics assets: thin wrappers that run `analytics/` on the warehouse and write each result
back as a table of the `analytics` dataset, with evaluation figures as asset metadata.

Assets (group `analytics`, keys `["analytics", <name>]`), each downstream of the marts it reads:

- `forecasts`: headline series (MRR, recognised revenue, paying customers monthly; API requests
  daily) forecast with `forecast(method="auto")`; rolling-origin backtest (MAE, sMAPE, MASE per
  method and series) in metadata and in `analytics.forecast_backtests`; a plot of the MRR forecast.
- `capacity_forecast`: per service peak utilisation forecast and threshold crossing
  (`analytics.capacity_forecast`, `analytics.capacity_summary`).
- `revenue_scenarios`: base / optimistic / pessimistic MRR from the MRR bridge's rates, and the
  cash-flow projection of the base case (`analytics.revenue_scenarios`, `analytics.cash_flow_projection`).
- `anomalies`: the headline daily series through `detect` (`analytics.anomalies`) and their
  anomalous windows (`analytics.anomaly_windows`).
- `churn_predictions`, `expansion_opportunities`, `lead_scores`, `insights`: when the
  `analytics.churn`, `analytics.expansion`, `analytics.leads`, `analytics.insights` packages
  expose `run`, `opportunities`, `score_leads`, `generate` + `insights_frame`.
- `model_metrics`: every evaluation figure as one long table (`model`, `subject`, `metric`, `value`).

Job `analytics_daily` (the analytics group and everything upstream of it: sources -> dbt ->
analytics) runs daily at 06:00 UTC (`analytics_daily_schedule`).
"""

import dataclasses
import math
import warnings
from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl
from dagster import AssetExecutionContext

from analytics.anomalies import anomaly_windows, detect
from analytics.churn import run as run_churn
from analytics.expansion import opportunities as find_opportunities
from analytics.forecasting import (
    assumptions_from_mrr_bridge,
    backtest,
    capacity_forecast,
    cash_flow_projection,
    forecast,
    quality_warnings,
    revenue_scenarios,
)
from analytics.insights import generate, insights_frame
from analytics.leads import score_leads as score
from analytics.settings import Settings
from analytics.warehouse import run_query

from . import series
from .plots import forecast_png
from .writeback import DATASET, write_table

GROUP = "analytics"
JOB = "analytics_daily"
SCHEDULE = "analytics_daily_schedule"
CRON = "0 6 * * *"
CAPACITY_HORIZON_DAYS = 90
CAPACITY_THRESHOLD = 0.8
SCENARIO_MONTHS = 12


def key(name: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, name])


# --------------------------------------------------------------------------------------- helpers
def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return None
    return None if math.isnan(v) or math.isinf(v) else float(v)


def _md_table(frame: pl.DataFrame, digits: int = 4) -> dg.MetadataValue:
    frame = frame.with_columns(pl.col(pl.Float64, pl.Float32).round(digits))
    head = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns) + "\n"
    rows = "".join(
        "| " + " | ".join("" if v is None else str(v) for v in r) + " |\n"
        for r in frame.iter_rows()
    )
    return dg.MetadataValue.md(head + rows)


def _write(settings: Settings, tables: Mapping[str, pl.DataFrame]) -> dict[str, Any]:
    """Write each table; metadata: `dagster/row_count` of the first (the asset's own table) and
    the row count and location of every table written."""
    meta: dict[str, Any] = {}
    for i, (name, frame) in enumerate(tables.items()):
        rows = write_table(settings, name, frame)
        if i == 0:
            meta["dagster/row_count"] = dg.MetadataValue.int(rows)
            meta["table"] = dg.MetadataValue.text(f"{DATASET}.{name}")
        else:
            meta[f"rows/{name}"] = dg.MetadataValue.int(rows)
    return meta


def _figures(obj: Any) -> dict[str, float]:
    """The numeric fields of an evaluation object (dataclass, mapping, or `as_dict()`)."""
    if obj is None:
        return {}
    if hasattr(obj, "as_dict"):
        obj = obj.as_dict()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = dataclasses.asdict(obj)
    elif not isinstance(obj, Mapping):
        obj = (
            {k: v for k, v in vars(obj).items() if not k.startswith("_")}
            if hasattr(obj, "__dict__")
            else {}
        )
    return {str(k): f for k, v in obj.items() if (f := _num(v)) is not None}


def _long(model: str, subject: str, figures: Mapping[str, float]) -> pl.DataFrame:
    return pl.DataFrame(
        {"model": [model] * len(figures), "subject": [subject] * len(figures),
         "metric": list(figures), "value": list(figures.values())},
        schema={"model": pl.Utf8, "subject": pl.Utf8, "metric": pl.Utf8, "value": pl.Float64},
    )  # fmt: skip


def _as_frame(obj: Any) -> pl.DataFrame:
    if isinstance(obj, pl.DataFrame):
        return obj
    if isinstance(obj, list):
        return pl.DataFrame(
            [o.as_dict() if hasattr(o, "as_dict") else dataclasses.asdict(o) for o in obj]
        )
    for attr in ("frame", "data", "opportunities", "scores", "predictions"):
        if isinstance(getattr(obj, attr, None), pl.DataFrame):
            return getattr(obj, attr)
    raise TypeError(f"expected a polars DataFrame, got {type(obj).__name__}")


def _model_result(settings: Settings, table: str, frame: pl.DataFrame, model: str, subject: str,
                  metrics: Any) -> dg.MaterializeResult:  # fmt: skip
    """Write a model's output and its evaluation figures (`<model>_evaluation`), figures as metadata."""
    figures = _figures(metrics)
    meta = _write(settings, {table: frame, f"{model}_evaluation": _long(model, subject, figures)})
    meta |= {f"eval/{k}": dg.MetadataValue.float(v) for k, v in figures.items()}
    return dg.MaterializeResult(metadata=meta)


# ---------------------------------------------------------------------------------------- assets
def definitions(settings: Settings) -> dg.Definitions:
    plots_dir = settings.data_dir / "analytics" / "plots"

    @dg.asset(key=key("forecasts"), group_name=GROUP, deps=series.HEADLINE_MARTS, kinds={"python", "polars"},
              description="Headline series forecast (method auto: the best backtest), with backtest MAE/sMAPE/MASE.")  # fmt: skip
    def forecasts(context: AssetExecutionContext) -> dg.MaterializeResult:
        frames, backtests, meta = [], [], {}
        for h in series.HEADLINES:
            history = series.metric_series(settings, h.metric, h.grain)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                report = backtest(history, h.horizon, freq=h.freq)
                fc = forecast(history, h.horizon, freq=h.freq, method="auto")
            frames.append(
                fc.with_columns(pl.lit(h.name).alias("series"), pl.lit(h.freq).alias("freq"))
            )
            chosen = fc.get_column("method")[0]
            backtests.append(report.metrics.with_columns(
                pl.lit(h.name).alias("series"), (pl.col("method") == chosen).alias("is_chosen"),
                pl.lit(report.horizon).alias("horizon"), pl.lit(h.freq).alias("freq"),
            ))  # fmt: skip
            for metric in ("mae", "smape", "mase"):
                value = _num(report.score(chosen, metric)) if chosen in report.methods else None
                if value is not None:
                    meta[f"{h.name}/{metric}"] = dg.MetadataValue.float(value)
            meta[f"{h.name}/method"] = dg.MetadataValue.text(chosen)
            caveats = quality_warnings(report, method=chosen if chosen in report.methods else None)
            meta[f"{h.name}/quality"] = dg.MetadataValue.text("; ".join(caveats) or "backtest within targets")
            if h.name == "mrr":
                meta["mrr_forecast_plot"] = dg.MetadataValue.md(
                    forecast_png(
                        history, fc, "MRR: actual and forecast", plots_dir / "mrr_forecast.png"
                    )
                )
            context.log.info(f"{h.name}: {chosen}, {fc.height} periods")
        table = pl.concat([f.select("series", "freq", "ds", "yhat", "yhat_lower", "yhat_upper", "method",
                                    pl.col("warning").cast(pl.Utf8)) for f in frames])  # fmt: skip
        bt = pl.concat(backtests).select("series", "freq", "horizon", "method", "is_chosen", "mae", "smape", "mase",
                                         "coverage", "relative_mae")  # fmt: skip
        meta["backtest"] = _md_table(bt)
        return dg.MaterializeResult(
            metadata=_write(settings, {"forecasts": table, "forecast_backtests": bt}) | meta
        )

    @dg.asset(key=key("capacity_forecast"), group_name=GROUP, deps=series.CAPACITY_MARTS, kinds={"python", "polars"},
              description=f"Peak utilisation per service, {CAPACITY_HORIZON_DAYS} days ahead, and when it crosses "
                          f"{CAPACITY_THRESHOLD:.0%}.")  # fmt: skip
    def capacity(context: AssetExecutionContext) -> dg.MaterializeResult:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = capacity_forecast(
                series.peak_utilisation(settings), CAPACITY_HORIZON_DAYS, CAPACITY_THRESHOLD
            )
        fc = result.forecast.rename({"unique_id": "service"}).with_columns(
            pl.col("warning").cast(pl.Utf8)
        )
        summary = result.summary.rename({"unique_id": "service"})
        meta = _write(settings, {"capacity_forecast": fc, "capacity_summary": summary})
        meta["summary"] = _md_table(summary)
        meta["services_at_risk"] = dg.MetadataValue.int(
            summary.filter(pl.col("status") != "ok").height
        )
        return dg.MaterializeResult(metadata=meta)

    @dg.asset(key=key("revenue_scenarios"), group_name=GROUP, deps=series.SCENARIO_MARTS, kinds={"python", "polars"},
              description=f"Base / optimistic / pessimistic MRR for {SCENARIO_MONTHS} months from the MRR bridge's "
                          "recent rates, and the base case's cash-flow projection.")  # fmt: skip
    def scenarios(context: AssetExecutionContext) -> dg.MaterializeResult:
        bridge = series.mrr_bridge(settings)
        assumptions = assumptions_from_mrr_bridge(bridge)
        history = bridge.select(
            pl.col("month_start").cast(pl.Date).alias("ds"), pl.col("ending_mrr").alias("y")
        )
        projection = revenue_scenarios(history, SCENARIO_MONTHS, **assumptions)
        cash = cash_flow_projection(projection, series.monthly_costs(settings))
        meta = _write(settings, {"revenue_scenarios": projection, "cash_flow_projection": cash})
        meta |= {f"assumption/{k}": dg.MetadataValue.float(v) for k, v in assumptions.items()}
        last = projection.tail(1).row(0, named=True)
        meta |= {
            f"mrr_in_{SCENARIO_MONTHS}m/{k}": dg.MetadataValue.float(float(v))
            for k, v in last.items()
            if k != "ds"
        }
        meta["ending_cash_base"] = dg.MetadataValue.float(float(cash.get_column("ending_cash")[-1]))
        return dg.MaterializeResult(metadata=meta)

    @dg.asset(key=key("anomalies"), group_name=GROUP, deps=series.ANOMALY_MARTS, kinds={"python", "polars"},
              description="Headline daily series (API requests, error rate, p95 latency, failed payments, recognised "
                          "revenue) through anomaly detection: expected range and flag for every day.")  # fmt: skip
    def anomalies(context: AssetExecutionContext) -> dg.MaterializeResult:
        frames = [
            series.metric_series(settings, metric, "day", fill).with_columns(
                pl.lit(metric).alias("unique_id")
            )
            for metric, fill in series.ANOMALY_METRICS.items()
        ]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = detect(pl.concat([f.select("unique_id", "ds", "y") for f in frames]))
        windows = [w.as_dict() for w in anomaly_windows(result)]
        win = pl.DataFrame(windows, infer_schema_length=None) if windows else pl.DataFrame(
            schema={"series_id": pl.Utf8, "start": pl.Date, "end": pl.Date, "periods": pl.Int64})  # fmt: skip
        win = win.rename({"series_id": "series"}) if "series_id" in win.columns else win
        rows = result.rename({"unique_id": "series"}).select(
            "series", "ds", "y", "expected", "lower", "upper", "score", "is_anomaly",
            *[c for c in result.columns if c not in ("unique_id", "ds", "y", "expected", "lower", "upper", "score", "is_anomaly")],
        )  # fmt: skip
        meta = _write(settings, {"anomalies": rows, "anomaly_windows": win})
        counts = (
            rows.group_by("series")
            .agg(pl.col("is_anomaly").sum().alias("anomalous_days"))
            .sort("series")
        )
        for name, n in counts.iter_rows():
            meta[f"anomalous_days/{name}"] = dg.MetadataValue.int(int(n))
        meta["windows"] = _md_table(win.drop([c for c in ("top_feature",) if c in win.columns]))
        return dg.MaterializeResult(metadata=meta)

    assets: list[Any] = [forecasts, capacity, scenarios, anomalies]
    model_tables = ["forecast_backtests"]  # long-form evaluation tables gathered by model_metrics
    model_deps = [key("forecasts")]

    @dg.asset(key=key("churn_predictions"), group_name=GROUP, kinds={"python", "scikitlearn"},
              deps=series.marts("fct_customer_health_daily", "fct_customer_mrr_monthly", "dim_customers"),
              description="Churn probability, expected days to churn and main risk factors per customer; "
                          "ROC AUC, PR AUC and Brier score on the period after training.")  # fmt: skip
    def churn_predictions(context: AssetExecutionContext) -> dg.MaterializeResult:
        result = run_churn(settings)
        return _model_result(settings, "churn_predictions", _as_frame(result.predictions), "churn", "customers",
                             getattr(result, "metrics", None))  # fmt: skip

    assets.append(churn_predictions)
    model_tables.append("churn_evaluation")
    model_deps.append(key("churn_predictions"))

    @dg.asset(key=key("expansion_opportunities"), group_name=GROUP, kinds={"python", "polars"},
              deps=series.marts("fct_upsell_signals", "fct_customer_mrr_monthly", "fct_customer_health_current"),
              description="Upsell and expansion opportunities per customer (usage near limits, seat "
                          "saturation, growth) with a value forecast.")  # fmt: skip
    def expansion_opportunities(context: AssetExecutionContext) -> dg.MaterializeResult:
        frame = _as_frame(find_opportunities(settings))
        return dg.MaterializeResult(
            metadata=_write(settings, {"expansion_opportunities": frame})
        )

    assets.append(expansion_opportunities)

    @dg.asset(key=key("lead_scores"), group_name=GROUP, kinds={"python", "scikitlearn"},
              deps=series.marts("fct_leads", "fct_opportunities", "fct_campaign_performance"),
              description="Lead score with its demographic / behavioural / engagement / intent breakdown, "
                          "qualification status and next actions.")  # fmt: skip
    def lead_scores(context: AssetExecutionContext) -> dg.MaterializeResult:
        result = score(settings)
        return _model_result(settings, "lead_scores", _as_frame(result.scores), "lead_scoring", "leads",
                             getattr(result, "metrics", None))  # fmt: skip

    assets.append(lead_scores)
    model_tables.append("lead_scoring_evaluation")
    model_deps.append(key("lead_scores"))

    upstream = [a.key for a in assets]

    @dg.asset(key=key("insights"), group_name=GROUP, kinds={"python", "polars"},
              deps=upstream + series.marts("fct_mrr_summary_monthly"),
              description="Ranked insights (opportunity, risk, trend, anomaly) with priority, supporting "
                          "numbers, the rule that fired, recommendations and estimated impact.")  # fmt: skip
    def insights(context: AssetExecutionContext) -> dg.MaterializeResult:
        frame = insights_frame(generate(settings))
        meta = _write(settings, {"insights": frame})
        if "priority" in frame.columns:
            for p, n in frame.group_by("priority").len().iter_rows():
                meta[f"priority/{p}"] = dg.MetadataValue.int(int(n))
        return dg.MaterializeResult(metadata=meta)

    assets.append(insights)

    @dg.asset(key=key("model_metrics"), group_name=GROUP, deps=model_deps, kinds={"python", "polars"},
              description="Every model's evaluation figures in one table: forecast MAE/sMAPE/MASE of the chosen "
                          "method per series, churn ROC AUC / PR AUC / Brier, lead scoring AUC.")  # fmt: skip
    def model_metrics(context: AssetExecutionContext) -> dg.MaterializeResult:
        parts = []
        bt = run_query(settings, f"select * from {DATASET}.forecast_backtests where is_chosen")
        for row in bt.iter_rows(named=True):
            figures = {
                m: v
                for m in ("mae", "smape", "mase", "coverage")
                if (v := _num(row[m])) is not None
            }
            parts.append(_long(f"forecast:{row['method']}", row["series"], figures))
        for table in model_tables[1:]:
            parts.append(run_query(settings, f"select model, subject, metric, value from {DATASET}.{table}")
                         .with_columns(pl.col("value").cast(pl.Float64)))  # fmt: skip
        frame = pl.concat(parts)
        meta = _write(settings, {"model_metrics": frame})
        meta["figures"] = _md_table(frame)
        return dg.MaterializeResult(metadata=meta)

    assets.append(model_metrics)

    job = dg.define_asset_job(
        JOB, selection=dg.AssetSelection.groups(GROUP).upstream(),
        description="Refresh the sources, rebuild the marts, then rerun every analytics model.",
    )  # fmt: skip
    schedule = dg.ScheduleDefinition(
        name=SCHEDULE, job=job, cron_schedule=CRON, execution_timezone="UTC",
        description="Daily at 06:00 UTC: sources -> dbt -> analytics tables.",
    )  # fmt: skip
    return dg.Definitions(assets=assets, jobs=[job], schedules=[schedule])
