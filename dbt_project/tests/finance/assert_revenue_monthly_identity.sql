-- Revenue identity (issue 3 acceptance): for every closed month,
-- recognized + deferred change = invoiced, in usd, within 0.01.
select
    month_start,
    invoiced_usd,
    recognized_usd,
    deferred_change_usd,
    recognized_usd + deferred_change_usd - invoiced_usd as difference
from {{ ref('fct_revenue_monthly') }}
where is_closed_month
  and abs(recognized_usd + deferred_change_usd - invoiced_usd) > 0.01
