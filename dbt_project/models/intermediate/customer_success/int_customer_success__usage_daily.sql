-- API usage per organisation per day (all endpoints).
select
    organization_id,
    request_date as date_day,
    sum(requests) as api_requests,
    sum(errors) as api_errors,
    sum(case when requests > 0 then 1 else 0 end) as endpoints_used
from {{ ref('stg_usage__api_requests') }}
group by organization_id, request_date
