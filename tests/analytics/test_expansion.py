"""Expansion opportunities and the value forecast on the demo company (scale 0.3)."""

from __future__ import annotations

import polars as pl
import pytest

from analytics.churn import run
from analytics.expansion import opportunities, value_forecast
from analytics.settings import Settings


@pytest.fixture(scope="module")
def opps(dbt_settings: Settings) -> pl.DataFrame:
    return opportunities(dbt_settings)


def test_opportunities_shape(opps: pl.DataFrame) -> None:
    assert opps.height > 0
    assert opps["customer_id"].n_unique() == opps.height
    assert opps["expansion_score"].is_between(0, 1).all()
    assert opps["suggested_action"].null_count() == 0
    assert opps["expansion_score"].is_sorted(descending=True)


def test_flagged_customers_rank_higher(opps: pl.DataFrame) -> None:
    for flag in ("near_usage_limit", "at_plan_seat_max", "seats_full"):
        flagged = opps.filter(pl.col(flag))["expansion_score"]
        rest = opps.filter(~pl.col(flag))["expansion_score"]
        if flagged.len() and rest.len():
            print(
                f"\n{flag}: {flagged.len()} flagged, mean score {flagged.mean():.3f} vs {rest.mean():.3f}"
            )
            assert flagged.mean() > rest.mean()
    none = opps.filter(pl.col("signal_count") == 0)["expansion_score"]
    many = opps.filter(pl.col("signal_count") >= 2)["expansion_score"]
    if none.len() and many.len():
        assert many.min() > none.mean()


def test_value_forecast(dbt_settings: Settings, opps: pl.DataFrame) -> None:
    churn = run(dbt_settings)
    v = value_forecast(dbt_settings, horizon_months=12, churn_run=churn)
    assert v.height > 0 and v["customer_id"].n_unique() == v.height
    assert v["survival_at_horizon"].is_between(0, 1).all()
    assert (v["expected_revenue"] >= 0).all()
    assert (v["expected_revenue"] <= 12 * v["current_mrr"] * 1.5).all()
    # a customer that is sure to stay and expand is worth more than its MRR x 12 only with expansion
    risky = v.sort("churn_probability_90d", descending=True).head(5)
    assert (risky["expected_revenue"] < 12 * risky["current_mrr"]).all()
    with pytest.raises(ValueError):
        value_forecast(dbt_settings, horizon_months=0, churn_run=churn)
