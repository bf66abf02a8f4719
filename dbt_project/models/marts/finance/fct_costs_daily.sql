-- Cloud (infrastructure) costs per day, service and cost category, in usd. In this model all
-- of them are cost of revenue (DECISIONLOG "Cost of revenue").
select
    cost_date,
    {{ month_start('cost_date') }} as month_start,
    service,
    category,
    provider,
    cost_usd,
    true as is_cost_of_revenue
from {{ ref('stg_usage__cloud_costs') }}
