{%- set w = cs_setting('health_weights') -%}
{%- set total = w['usage'] + w['engagement'] + w['support'] + w['billing'] -%}
-- The health score is the weighted average of its four factor scores (var health_weights);
-- scores are rounded to one decimal, so allow for the rounding.
select customer_id, date_day, health_score, usage_score, engagement_score, support_score, billing_score
from {{ ref('fct_customer_health_daily') }}
where abs(health_score - ({{ w['usage'] }} * usage_score + {{ w['engagement'] }} * engagement_score
                          + {{ w['support'] }} * support_score + {{ w['billing'] }} * billing_score) / {{ total }}) > 0.15
