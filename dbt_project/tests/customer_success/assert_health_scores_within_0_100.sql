-- Every health and factor score stays within 0-100.
select customer_id, date_day, health_score, usage_score, engagement_score, support_score, billing_score
from {{ ref('fct_customer_health_daily') }}
where health_score < 0 or health_score > 100
   or usage_score < 0 or usage_score > 100
   or engagement_score < 0 or engagement_score > 100
   or support_score < 0 or support_score > 100
   or billing_score < 0 or billing_score > 100
