select
    cast(date as date) as cost_date,
    service,
    category,
    provider,
    cost_usd
from {{ source('usage', 'cloud_costs') }}
