{# Technical-operations helpers. Cross-database pieces dispatch to duckdb__ / bigquery__ versions
   (the shared ones live in cross_db.sql); the incident rules read their thresholds from dbt vars
   whose defaults are set here (DECISIONLOG "Incident candidates"). #}

{# The UTC calendar date of a timestamp (DuckDB would otherwise use the session time zone). #}
{% macro techops_utc_date(ts_expr) -%}{{ return(adapter.dispatch('techops_utc_date', 'psz')(ts_expr)) }}{%- endmacro %}
{% macro duckdb__techops_utc_date(ts_expr) -%}cast(timezone('UTC', {{ ts_expr }}) as date){%- endmacro %}
{% macro bigquery__techops_utc_date(ts_expr) -%}date({{ ts_expr }}){%- endmacro %}

{# UTC midnight of a date, as a timestamp with time zone. #}
{% macro techops_day_start(date_expr) -%}{{ return(adapter.dispatch('techops_day_start', 'psz')(date_expr)) }}{%- endmacro %}
{% macro duckdb__techops_day_start(date_expr) -%}timezone('UTC', cast({{ date_expr }} as timestamp)){%- endmacro %}
{% macro bigquery__techops_day_start(date_expr) -%}timestamp({{ date_expr }}){%- endmacro %}

{% macro techops_add_hours(ts_expr, hours) -%}{{ return(adapter.dispatch('techops_add_hours', 'psz')(ts_expr, hours)) }}{%- endmacro %}
{% macro duckdb__techops_add_hours(ts_expr, hours) -%}(({{ ts_expr }}) + cast({{ hours }} as integer) * interval 1 hour){%- endmacro %}
{% macro bigquery__techops_add_hours(ts_expr, hours) -%}timestamp_add({{ ts_expr }}, interval cast({{ hours }} as int64) hour){%- endmacro %}

{# 'YYYYMMDD-HH' of a timestamp in UTC: readable, stable incident ids. #}
{% macro techops_format_hour(ts_expr) -%}{{ return(adapter.dispatch('techops_format_hour', 'psz')(ts_expr)) }}{%- endmacro %}
{% macro duckdb__techops_format_hour(ts_expr) -%}strftime(timezone('UTC', {{ ts_expr }}), '%Y%m%d-%H'){%- endmacro %}
{% macro bigquery__techops_format_hour(ts_expr) -%}format_timestamp('%Y%m%d-%H', {{ ts_expr }}, 'UTC'){%- endmacro %}

{# Distinct values joined with ', ' in alphabetical order. #}
{% macro techops_string_agg_distinct(expr) -%}{{ return(adapter.dispatch('techops_string_agg_distinct', 'psz')(expr)) }}{%- endmacro %}
{% macro duckdb__techops_string_agg_distinct(expr) -%}string_agg(distinct {{ expr }}, ', ' order by {{ expr }}){%- endmacro %}
{% macro bigquery__techops_string_agg_distinct(expr) -%}string_agg(distinct {{ expr }}, ', ' order by {{ expr }}){%- endmacro %}

{# Severity rank (1 low .. 4 critical) by magnitude, per breach metric. Thresholds: DECISIONLOG
   "Incident severity". #}
{% macro techops_breach_severity_rank(metric, observed, ratio) -%}
case
    when {{ metric }} = 'error_rate' then
        case when {{ observed }} >= 0.10 then 4 when {{ observed }} >= 0.05 then 3 when {{ observed }} >= 0.03 then 2 else 1 end
    when {{ metric }} = 'latency_p95' then
        case when {{ ratio }} >= 4 then 4 when {{ ratio }} >= 3 then 3 when {{ ratio }} >= 2.5 then 2 else 1 end
    when {{ metric }} = 'cpu_saturation' then
        case when {{ observed }} >= 99 then 3 when {{ observed }} >= 95 then 2 else 1 end
    when {{ metric }} = 'cpu_unexplained' then
        case when {{ ratio }} >= 45 then 4 when {{ ratio }} >= 35 then 3 when {{ ratio }} >= 25 then 2 else 1 end
    else 1
end
{%- endmacro %}

{% macro techops_severity_label(rank) -%}
case {{ rank }} when 4 then 'critical' when 3 then 'high' when 2 then 'medium' else 'low' end
{%- endmacro %}
