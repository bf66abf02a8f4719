{# Monthly-normalised amount of a recurring price (DESIGN.md / DECISIONLOG "MRR"):
   year: /12/n, month: /n, week: x52/12/n, day: x365/12/n. #}
{% macro monthly_amount(amount, interval, interval_count) -%}
case {{ interval }}
    when 'year' then {{ amount }} / 12.0 / {{ interval_count }}
    when 'month' then {{ amount }} * 1.0 / {{ interval_count }}
    when 'week' then {{ amount }} * 52.0 / 12.0 / {{ interval_count }}
    when 'day' then {{ amount }} * 365.0 / 12.0 / {{ interval_count }}
end
{%- endmacro %}
