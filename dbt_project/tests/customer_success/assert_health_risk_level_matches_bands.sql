-- The risk level is the band of the score (var health_risk_bands), in the daily and current marts.
select 'daily' as source, customer_id, date_day, health_score, risk_level
from {{ ref('fct_customer_health_daily') }}
where risk_level <> ({{ cs_risk_level('health_score') }})
union all
select 'current', customer_id, as_of_date, health_score, risk_level
from {{ ref('fct_customer_health_current') }}
where risk_level <> ({{ cs_risk_level('health_score') }})
