"""Is the demo company believable? Its last 12 complete months against public SaaS benchmarks.

    uv run python benchmarks/demo_benchmarks.py WAREHOUSE_PATH

prints every figure with its range and PASS/FAIL (exit status 1 if any fails). Every figure is
read from the dbt marts, where each number has its one definition: a 12-month figure of a ratio
metric is the sum of the mart's numerator over the sum of its denominator over the 12 months
(what the governed ratio metric returns for a 12-month period), a snapshot metric takes the last
month. Three figures have no mart of their own and are counted here from the nearest model
(marked `no mart` below): trial conversion, sales win rate over a year, payment recovery.
The ranges and the surveys they come from: README "Demo company benchmarks".
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class Figure:
    name: str
    value: float | None
    low: float
    high: float
    unit: str  # "%" (a fraction shown as percent), "months" or "x"
    source: str  # the mart (or model) it is read from

    @property
    def passed(self) -> bool:
        return self.value is not None and self.low <= self.value <= self.high

    def show(self, x: float | None) -> str:
        if x is None:
            return "n/a"
        return f"{x:.1%}" if self.unit == "%" else f"{x:.2f} {self.unit}".strip()


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> tuple:
    row = con.execute(sql, params).fetchone()
    assert row is not None
    return row


def _ratio(num: float | None, den: float | None) -> float | None:
    return None if num is None or not den else float(num) / float(den)


def window(con: duckdb.DuckDBPyConnection) -> tuple[dt.date, dt.date]:
    """First and last month of the last 12 closed months (gross margin needs revenue and costs)."""
    (last,) = _one(con, "select max(month_start) from marts.fct_gross_margin_monthly where is_closed_month", {})
    total = last.year * 12 + last.month - 1 - 11
    return dt.date(total // 12, total % 12 + 1, 1), last


def figures(con: duckdb.DuckDBPyConnection) -> list[Figure]:
    first, last = window(con)
    p = {"first": first, "last": last}
    year_ago = dt.date(last.year - 1, last.month, 1)
    ue = _one(con, """
        select sum(sales_marketing_spend_usd), sum(new_mrr_gross_profit_usd), sum(new_customers),
               max(case when month_start = $last then ltv_usd end)
        from marts.fct_unit_economics_monthly where month_start between $first and $last""", p)  # fmt: skip
    gm = _one(con, """
        select sum(gross_profit_usd), sum(revenue_usd)
        from marts.fct_gross_margin_monthly where month_start between $first and $last""", p)  # fmt: skip
    pnl = _one(con, """
        select sum(opex_sales_marketing_usd), sum(revenue_usd)
        from marts.fct_pnl_monthly where month_start between $first and $last""", p)  # fmt: skip
    arr_now, arr_then, nrr = _one(con, """
        select max(case when month_start = $last then arr end), max(case when month_start = $ago then arr end),
               max(case when month_start = $last then nrr_12m end)
        from marts.fct_mrr_summary_monthly""", {"last": last, "ago": year_ago})  # fmt: skip
    churn = {
        seg: (lost, at_start)
        for seg, lost, at_start in con.execute("""
            select segment, sum(case when movement_type = 'churn' then 1 else 0 end),
                   sum(case when is_paying_start then 1 else 0 end)
            from marts.fct_customer_mrr_monthly where month_start between $first and $last
            group by segment""", p).fetchall()
    }  # fmt: skip
    lost_all, start_all = _one(con, """
        select sum(churned_customers), sum(paying_customers_start)
        from marts.fct_mrr_summary_monthly where month_start between $first and $last""", p)  # fmt: skip
    # no mart: trials whose 14 days ended in the window; converted = the subscription went on
    # past the trial end (a lapsed trial ends exactly at trial_end)
    trials, converted = _one(con, """
        select count(*), sum(case when ended_at is null or ended_at > trial_end_at then 1 else 0 end)
        from staging.stg_stripe__subscriptions
        where trial_end_at is not null and cast(trial_end_at as date) between $first and $eom""",
        {"first": first, "eom": _month_end(last)})  # fmt: skip
    # no mart for a yearly win rate: won / (won + lost) of the monthly per-rep mart, pooled
    won, lost = _one(con, """
        select sum(opportunities_won), sum(opportunities_lost)
        from marts.fct_sales_performance_monthly where month_start between $first and $last""", p)  # fmt: skip
    # no mart: invoices with a failed charge, settled (paid or uncollectible): share paid
    recovered, failed_settled = _one(con, """
        select sum(case when is_recovered then 1 else 0 end),
               sum(case when is_recovered or is_uncollectible then 1 else 0 end)
        from marts.fct_invoices where has_failed_payment and invoice_month between $first and $last""", p)  # fmt: skip
    seats = _one(con, """
        select count(*), sum(case when seats_full then 1 else 0 end),
               sum(case when seat_utilisation > 1 then 1 else 0 end),
               sum(case when seat_utilisation <= 1 then 1 else 0 end)
        from marts.fct_upsell_signals""", {})  # fmt: skip
    # cloud cost per day of each month (months differ in length: February is 10% shorter)
    cost_months = [cost / days for cost, days in con.execute("""
        select sum(cost_usd), count(distinct cost_date) from marts.fct_costs_daily
        where month_start between $first and $last group by month_start order by month_start""", p).fetchall()]  # fmt: skip

    cac = _ratio(ue[0], ue[2])
    seg_rate = {s: _ratio(lost_n, n) for s, (lost_n, n) in churn.items()}
    ent = seg_rate.get("enterprise")
    others = [v for s, v in seg_rate.items() if s != "enterprise" and v is not None]
    growth = None if arr_then is None or nrr is None else _ratio(arr_now, arr_then) - 1  # type: ignore[operator]
    jump = max(b / a - 1 for a, b in pairwise(cost_months)) if len(cost_months) > 1 else None
    f = [
        Figure("CAC payback", _ratio(ue[0], ue[1]), 8, 36, "months", "fct_unit_economics_monthly"),
        Figure("LTV:CAC", _ratio(ue[3], cac), 2, 8, "x", "fct_unit_economics_monthly (LTV of the last month)"),
        Figure("sales and marketing / revenue", _ratio(pnl[0], pnl[1]), 0.20, 0.60, "%", "fct_pnl_monthly"),
        Figure("ARR growth (12 months)", growth, 0.10, 1.50, "%", "fct_mrr_summary_monthly"),
        Figure("NRR (trailing 12 months)", None if nrr is None else float(nrr), 0.85, 1.30, "%", "fct_mrr_summary_monthly"),
        Figure("gross margin", _ratio(gm[0], gm[1]), 0.60, 0.88, "%", "fct_gross_margin_monthly"),
        Figure("monthly logo churn", _ratio(lost_all, start_all), 0.005, 0.04, "%", "fct_mrr_summary_monthly"),
    ]
    for seg in sorted(seg_rate):
        f.append(Figure(f"monthly logo churn, {seg}", seg_rate[seg], 0.0, 0.04, "%", "fct_customer_mrr_monthly"))
    f += [
        # enterprise churns least: its rate minus the lowest other segment's, must be < 0
        Figure("enterprise churn minus lowest other segment", None if ent is None or not others else ent - min(others),
               -1.0, -1e-9, "%", "fct_customer_mrr_monthly"),
        Figure("trial conversion", _ratio(converted, trials), 0.15, 0.60, "%", "stg_stripe__subscriptions (no mart)"),
        Figure("sales win rate", _ratio(won, (won or 0) + (lost or 0)), 0.15, 0.40, "%", "fct_sales_performance_monthly (no yearly mart)"),
        Figure("payment recovery", _ratio(recovered, failed_settled), 0.40, 0.75, "%", "fct_invoices (no mart)"),
        Figure("customers with seats full (>= 90% active)", _ratio(seats[1], seats[0]), 0.03, 0.30, "%", "fct_upsell_signals"),
        Figure("customers at or below their paid seats", _ratio(seats[3], seats[0]), 0.85, 1.0, "%", "fct_upsell_signals"),
        Figure("largest month-on-month rise of cloud cost per day", jump, -1.0, 0.25, "%", "fct_costs_daily"),
    ]  # fmt: skip
    return f


def _month_end(month: dt.date) -> dt.date:
    nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    path = Path(sys.argv[1])
    con = duckdb.connect(str(path), read_only=True)
    try:
        first, last = window(con)
        rows = figures(con)
    finally:
        con.close()
    print(f"warehouse {path}: {first:%Y-%m} .. {last:%Y-%m}")
    for x in rows:
        rng = f"{x.show(x.low)} .. {x.show(x.high)}"
        print(f"{'PASS' if x.passed else 'FAIL'}  {x.name:<46} {x.show(x.value):>12}   range {rng:<26} {x.source}")
    return 0 if all(x.passed for x in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
