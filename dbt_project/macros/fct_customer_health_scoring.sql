{# Scoring helper of fct_customer_health_daily (DECISIONLOG "Customer health"). #}

{# A 0-100 factor score from z, the customer's standardised distance from what is expected of it
   (its own baseline, corrected by same-day peers; positive = better): a logistic curve that gives
   var health_neutral_score at z = 0 (as expected; also the score of a factor without usable
   input yet), and never saturates at 0 or 100 (z is clipped to +-12 so exp() stays finite).
   The slope 1.25 spreads healthy customers (z ~ N(0, 1)) over roughly 45-95. #}
{% macro cs_logistic_score(z_expr) -%}
    {%- set neutral = cs_setting('health_neutral_score') -%}
    (100.0 / (1.0 + exp(-(ln({{ neutral }} / (100.0 - {{ neutral }})) + 1.25 * greatest(-12.0, least(12.0, {{ z_expr }}))))))
{%- endmacro %}
