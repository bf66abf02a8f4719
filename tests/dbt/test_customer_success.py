"""Customer success marts against the demo company's planted truth.

The demo plants churners whose usage, engagement and support pain worsen from `signals_start`
until they cancel (demo_truth.churned_customers, warning_signals = true). Their health score
must fall before they cancel, sit below the other customers' on the same days, separate them
from the never-churners a month and two months ahead, and its high/critical band must be a
precise alarm (issue 9 item 3; definitions in analytics/health/evaluation.py). The measured
figures are printed (run with -s); the thresholds are the issue's targets, or sit a little below
what was measured where a figure has no target.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import duckdb
import pytest
import yaml

from analytics.health.evaluation import HealthEvaluation, evaluate_warehouse
from analytics.settings import Settings

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# Measured at scale 0.3 / seed 42 (the conftest warehouse) with the baseline-relative score:
# average drop 30.3 points (32 churners; 34.8 over the 26 with a 90-120 day baseline), churners
# 40.5 points below the never-churned customers on the same days (before: 21.8 and 25.6).
MIN_AVERAGE_DROP = 25.0
MIN_GAP_TO_OTHERS = 34.0

# Issue 9 item 3 targets (analytics/health/evaluation.py defines each figure), on the calibrated
# demo company. Scale 1 / seed 42 (`benchmarks/health.py`): AUC 0.965 at 30 days, 0.819 at 60;
# 30-day alarm precision 0.535; median lead 33 days; p90 - p10 30.6 points: every target met.
# This suite's scale 0.3 has ~20 planted warning churners, so precision moves by ~0.03 with one
# of them: measured 0.475 there (AUC 0.94 / 0.87, lead 30 days, spread 25.6). The floors below
# are the scale-0.3 figures less that noise, so a regression fails while the draw does not.
# Before (absolute thresholds, scale 1): 0.859, 0.547, 0.809 at a 9-day lead, spread 9.4.
MIN_AUC_30D = 0.9
MIN_AUC_60D = 0.75
MIN_ALARM_PRECISION_30D = 0.45
MIN_CURRENT_SPREAD = 25.0
MIN_MEDIAN_LEAD_DAYS = 25

HEALTH = "marts.fct_customer_health_daily"
SCORES = ("health_score", "usage_score", "engagement_score", "support_score", "billing_score")

# Per warning-signal churner: mean score in the 14 days before the cancellation request, and the
# mean 90-120 days before it (before the signals start 45-90 days out); a churner too young for
# that window is compared with the 14 days up to its signals_start instead.
CHURNER_DROP_SQL = f"""
with churners as (
    select customer_id,
           cast(cancel_requested_at as date) as cancel_day,
           cast(signals_start as date) as signals_day
    from demo_truth.churned_customers
    where warning_signals
),
windows as (
    select
        c.customer_id,
        avg(case when h.date_day between c.cancel_day - 14 and c.cancel_day - 1 then h.health_score end) as before_cancel,
        avg(case when h.date_day between c.cancel_day - 120 and c.cancel_day - 90 then h.health_score end) as months_before,
        avg(case when h.date_day between c.signals_day - 14 and c.signals_day then h.health_score end) as at_signals_start
    from churners as c
    inner join {HEALTH} as h on h.customer_id = c.customer_id
    group by c.customer_id
)
select customer_id, before_cancel, coalesce(months_before, at_signals_start) as baseline,
       months_before is not null as has_months_before
from windows
where before_cancel is not null and coalesce(months_before, at_signals_start) is not null
"""

# Each churner-day in the 14 days before cancelling against the average of the customers that
# never churned, on the same day.
GAP_TO_OTHERS_SQL = f"""
with churners as (
    select customer_id, cast(cancel_requested_at as date) as cancel_day
    from demo_truth.churned_customers
    where warning_signals
),
churner_days as (
    select h.customer_id, h.date_day, h.health_score, h.risk_level
    from {HEALTH} as h
    inner join churners as c
        on c.customer_id = h.customer_id and h.date_day between c.cancel_day - 14 and c.cancel_day - 1
),
others as (
    select date_day, avg(health_score) as others_score,
           avg(case when risk_level in ('high', 'critical') then 1.0 else 0.0 end) as others_at_risk
    from {HEALTH}
    where customer_id not in (select customer_id from demo_truth.churned_customers)
    group by date_day
)
select
    count(*) as churner_days,
    count(distinct churner_days.customer_id) as churners,
    avg(churner_days.health_score) as churner_score,
    avg(others.others_score) as others_score,
    avg(others.others_score - churner_days.health_score) as gap,
    avg(case when churner_days.risk_level in ('high', 'critical') then 1.0 else 0.0 end) as churner_at_risk,
    avg(others.others_at_risk) as others_at_risk
from churner_days
inner join others on others.date_day = churner_days.date_day
"""


def risk_bands() -> dict[str, float]:
    """health_risk_bands: dbt_project.yml's var if set, else the default in the domain's macros."""
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    bands = (project.get("vars") or {}).get("health_risk_bands")
    if bands:
        return {k: float(v) for k, v in bands.items()}
    macros = (PROJECT_DIR / "macros" / "customer_success.sql").read_text()
    found = re.search(r"'health_risk_bands':\s*\{([^}]*)\}", macros)
    assert found, "default health_risk_bands not found in macros/customer_success.sql"
    return {k: float(v) for k, v in re.findall(r"'(\w+)':\s*([\d.]+)", found.group(1))}


def churner_drop(con: duckdb.DuckDBPyConnection) -> dict[str, float]:
    rows = con.execute(CHURNER_DROP_SQL).fetchall()
    drops = [baseline - before for _, before, baseline, _ in rows]
    with_months = [baseline - before for _, before, baseline, has in rows if has]
    return {
        "churners": len(rows),
        "churners_with_90_120d_baseline": len(with_months),
        "average_before_cancel": sum(r[1] for r in rows) / len(rows),
        "average_baseline": sum(r[2] for r in rows) / len(rows),
        "average_drop": sum(drops) / len(drops),
        "average_drop_90_120d_only": sum(with_months) / len(with_months)
        if with_months
        else float("nan"),
        "share_dropping": sum(1 for d in drops if d > 0) / len(drops),
    }


def test_planted_churners_health_falls_before_cancelling(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    m = churner_drop(warehouse)
    print(
        f"\nplanted churners: {m['churners']} ({m['churners_with_90_120d_baseline']} with a 90-120 day baseline); "
        f"health 14 days before cancelling {m['average_before_cancel']:.1f} vs baseline {m['average_baseline']:.1f}: "
        f"average drop {m['average_drop']:.1f} points (90-120 day baseline only: {m['average_drop_90_120d_only']:.1f}); "
        f"{m['share_dropping']:.0%} of churners drop"
    )
    assert m["churners"] >= 10, "too few planted churners with health rows to measure"
    assert m["average_drop"] >= MIN_AVERAGE_DROP
    assert m["share_dropping"] >= 0.75


def test_churners_score_below_other_customers_on_the_same_days(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    days, churners, churner_score, others_score, gap, churner_at_risk, others_at_risk = (
        warehouse.execute(GAP_TO_OTHERS_SQL).fetchone()
    )
    print(
        f"\n14 days before cancelling ({churners} churners, {days} churner-days): churners {churner_score:.1f} vs "
        f"never-churned customers {others_score:.1f} on the same days: gap {gap:.1f} points; "
        f"at risk (high/critical) {churner_at_risk:.0%} vs {others_at_risk:.1%}"
    )
    assert gap >= MIN_GAP_TO_OTHERS
    assert churner_at_risk > 5 * others_at_risk


@pytest.fixture(scope="module")
def health_evaluation(dbt_settings: Settings) -> HealthEvaluation:
    con = duckdb.connect(str(dbt_settings.warehouse_path), read_only=True)
    try:
        return evaluate_warehouse(con)
    finally:
        con.close()


def test_health_separates_warning_churners_a_month_and_two_months_ahead(
    health_evaluation: HealthEvaluation,
) -> None:
    e = health_evaluation
    print(
        f"\nAUC of (100 - health), warning churners vs never-churners on the same day: "
        f"{e.auc_30d:.3f} at 30 days ({e.churners_at_30d} churners), {e.auc_60d:.3f} at 60 ({e.churners_at_60d})"
    )
    assert e.churners_at_30d >= 10
    assert e.auc_30d >= MIN_AUC_30D
    assert e.auc_60d >= MIN_AUC_60D


def test_high_risk_band_is_a_precise_early_alarm(health_evaluation: HealthEvaluation) -> None:
    e = health_evaluation
    print(
        f"\nhigh/critical: {e.at_risk_day_share:.1%} of customer-days; 30-day alarm precision "
        f"{e.alarm_precision_30d:.3f} (60-day {e.alarm_precision_60d:.3f}); first fires a median "
        f"{e.median_lead_days:.0f} days before the request ({e.median_lead_days_fired:.0f} among the "
        f"{1 - e.never_fired_share:.0%} that fire)"
    )
    assert e.alarm_precision_30d >= MIN_ALARM_PRECISION_30D
    assert e.median_lead_days >= MIN_MEDIAN_LEAD_DAYS
    assert e.never_fired_share <= 0.35


def test_current_score_spreads_and_factors_do_not_saturate(
    health_evaluation: HealthEvaluation,
) -> None:
    e = health_evaluation
    print(
        f"\ncurrent score p10 {e.current_p10:.1f}, median {e.current_median:.1f}, p90 {e.current_p90:.1f}; "
        f"share at 100 per factor {e.factor_share_at_100}"
    )
    assert e.current_spread >= MIN_CURRENT_SPREAD
    assert max(e.factor_share_at_100.values()) < 0.05


def test_scores_within_0_100(warehouse: duckdb.DuckDBPyConnection) -> None:
    bounds = warehouse.execute(
        f"select {', '.join(f'min({c}), max({c})' for c in SCORES)}, count(*) from {HEALTH}"
    ).fetchone()
    assert bounds[-1] > 0
    for i, column in enumerate(SCORES):
        low, high = bounds[2 * i], bounds[2 * i + 1]
        print(f"\n{column}: {low} .. {high}", end="")
        assert 0 <= low <= high <= 100, column
    nulls = warehouse.execute(
        f"select count(*) from {HEALTH} where {' or '.join(f'{c} is null' for c in SCORES)}"
    ).fetchone()[0]
    assert nulls == 0


def test_risk_levels_follow_the_bands(warehouse: duckdb.DuckDBPyConnection) -> None:
    bands = risk_bands()
    expected = (
        f"case when health_score >= {bands['low']} then 'low' when health_score >= {bands['medium']} then 'medium' "
        f"when health_score >= {bands['high']} then 'high' else 'critical' end"
    )
    for table, day in ((HEALTH, "date_day"), ("marts.fct_customer_health_current", "as_of_date")):
        wrong = warehouse.execute(
            f"select count(*) from {table} where risk_level <> {expected}"
        ).fetchone()[0]
        assert wrong == 0, f"{table}: {wrong} rows whose risk level is not the band of the score"
    ranges = {
        level: (low, high)
        for level, low, high in warehouse.execute(
            f"select risk_level, min(health_score), max(health_score) from {HEALTH} group by risk_level"
        ).fetchall()
    }
    print(f"\nbands {bands}; score ranges per level {ranges}")
    order = [level for level in ("critical", "high", "medium", "low") if level in ranges]
    for lower, upper in itertools.pairwise(order):
        assert ranges[lower][1] < ranges[upper][0]


def test_current_health_is_one_row_per_current_customer(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    current, distinct, as_of_dates = warehouse.execute(
        "select count(*), count(distinct customer_id), count(distinct as_of_date) from marts.fct_customer_health_current"
    ).fetchone()
    open_customers = warehouse.execute(
        # a subscription counts through its ended_at day (customer_periods: end exclusive = ended
        # day + 1), so one that ended on the last day of data is still a current customer
        """select count(distinct customer_id) from staging.stg_stripe__subscriptions
           where ended_at is null
              or cast(ended_at as date) >= (select max(as_of_date) from marts.fct_customer_health_current)"""
    ).fetchone()[0]
    drags = dict(
        warehouse.execute(
            "select main_drag_factor, count(*) from marts.fct_customer_health_current group by 1"
        ).fetchall()
    )
    print(
        f"\ncurrent customers {current} (open subscriptions in Stripe: {open_customers}); main drag factors {drags}"
    )
    assert current == distinct == open_customers
    assert as_of_dates == 1


def test_engagement_and_nps_reconcile_with_staging(warehouse: duckdb.DuckDBPyConnection) -> None:
    # every request / event of an organisation in a week in which it was a customer lands in the
    # weekly mart; nearly all traffic happens in such weeks (the demo only serves customers)
    weekly, in_customer_weeks, staged = warehouse.execute(
        """
        with weeks as (select distinct organization_id, week_start from marts.fct_customer_engagement_weekly)
        select
            (select sum(api_requests) from marts.fct_customer_engagement_weekly),
            (select sum(r.requests) from staging.stg_usage__api_requests as r
             inner join weeks on weeks.organization_id = r.organization_id
                             and weeks.week_start = cast(date_trunc('week', r.request_date) as date)),
            (select sum(requests) from staging.stg_usage__api_requests)
        """
    ).fetchone()
    events_weekly, events_in_customer_weeks, events_staged = warehouse.execute(
        """
        with weeks as (select distinct organization_id, week_start from marts.fct_customer_engagement_weekly)
        select
            (select sum(feature_events) from marts.fct_customer_engagement_weekly),
            (select count(*) from staging.stg_supabase__feature_events as e
             inner join weeks on weeks.organization_id = e.organization_id
                             and weeks.week_start = cast(date_trunc('week', e.occurred_on) as date)),
            (select count(*) from staging.stg_supabase__feature_events)
        """
    ).fetchone()
    nps_all, nps_staged = warehouse.execute(
        "select (select sum(responses) from marts.fct_nps_monthly where segment = 'all'), "
        "(select count(*) from staging.stg_supabase__nps_responses)"
    ).fetchone()
    print(
        f"\nAPI requests weekly {weekly} / in customer weeks {in_customer_weeks} / staging {staged}; "
        f"feature events {events_weekly} / {events_in_customer_weeks} / {events_staged}; NPS responses {nps_all} / {nps_staged}"
    )
    assert weekly == in_customer_weeks
    assert weekly >= 0.999 * staged
    assert events_weekly == events_in_customer_weeks
    assert events_weekly >= 0.99 * events_staged
    assert nps_all == nps_staged


def test_time_to_value_matches_the_first_api_call(warehouse: duckdb.DuckDBPyConnection) -> None:
    mismatches = warehouse.execute(
        """
        select count(*)
        from marts.fct_onboarding_progress as p
        left join (
            select organization_id, min(completed_at) as first_call
            from staging.stg_supabase__onboarding_milestones where milestone = 'first_api_call'
            group by organization_id
        ) as m using (organization_id)
        where (m.first_call is null) <> (p.time_to_value_days is null)
           or abs(p.time_to_value_days - (epoch(m.first_call) - epoch(p.account_created_at)) / 86400.0) > 0.01
        """
    ).fetchone()[0]
    median_ttv, share_14d = warehouse.execute(
        "select quantile_cont(time_to_value_days, 0.5), avg(case when reached_value_within_target then 1.0 else 0 end) "
        "from marts.fct_onboarding_progress"
    ).fetchone()
    print(
        f"\nmedian time to value {median_ttv:.2f} days; share reaching value within 14 days {share_14d:.0%}"
    )
    assert mismatches == 0


@pytest.mark.parametrize(
    "table",
    [
        "fct_customer_health_daily",
        "fct_customer_engagement_weekly",
        "fct_usage_patterns",
        "fct_feature_adoption_monthly",
        "fct_nps_monthly",
        "fct_onboarding_progress",
        "fct_time_to_value_monthly",
    ],
)
def test_marts_are_not_empty(warehouse: duckdb.DuckDBPyConnection, table: str) -> None:
    assert warehouse.execute(f"select count(*) from marts.{table}").fetchone()[0] > 0
