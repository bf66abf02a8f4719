{# Sales & marketing helpers (DECISIONLOG "Lead funnel", "Pipeline"). #}

{# Position of a lead status in the funnel: new 0, mql 1, sql 2, opportunity 3, customer 4.
   Disqualified leads rank 0 here; fct_leads raises them to the stage their opportunity proves. #}
{% macro sm_funnel_stage_rank(status) -%}
case {{ status }}
    when 'customer' then 4
    when 'opportunity' then 3
    when 'sql' then 2
    when 'mql' then 1
    else 0
end
{%- endmacro %}

{# Default win probability of an opportunity stage, used when the CRM row has none. #}
{% macro sm_stage_probability(stage) -%}
case {{ stage }}
    when 'prospecting' then 0.10
    when 'qualification' then 0.25
    when 'proposal' then 0.50
    when 'negotiation' then 0.75
    when 'closed_won' then 1.0
    when 'closed_lost' then 0.0
    else {{ var('pipeline_unknown_stage_probability', 0.25) }}
end
{%- endmacro %}

{# Sort order of opportunity stages (open stages first, then closed). #}
{% macro sm_stage_order(stage) -%}
case {{ stage }}
    when 'prospecting' then 1
    when 'qualification' then 2
    when 'proposal' then 3
    when 'negotiation' then 4
    when 'stage_unknown' then 5
    when 'closed_won' then 6
    when 'closed_lost' then 7
    else 8
end
{%- endmacro %}
