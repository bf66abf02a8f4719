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

{# ---- Latency percentiles from histograms (DECISIONLOG "Latency percentiles") -------------------
   The usage source carries, per account, endpoint and day, how many requests fell in each latency
   bucket (upper bounds in ms: var latency_buckets_ms, then +Inf), the way Prometheus and
   OpenTelemetry explicit-bucket histograms export them. Buckets merge by summing, at any grain;
   a percentile is read from the merged counts, never averaged across rows. #}

{# The source's per-bucket count columns (+Inf last). #}
{% macro latency_bucket_columns() -%}
{%- for b in var('latency_buckets_ms') %}latency_bucket_le_{{ b }}, {% endfor %}latency_bucket_le_inf
{%- endmacro %}

{# `sum(...) as requests_within_<b>ms` for every finite bound: cumulative counts (requests answered
   within b ms) of the rows in the group, from the per-bucket columns. #}
{% macro latency_requests_within() -%}
{%- set bounds = var('latency_buckets_ms') -%}
{%- for b in bounds %}
        sum({% for c in bounds[:loop.index] %}latency_bucket_le_{{ c }}{{ ' + ' if not loop.last }}{% endfor %}) as requests_within_{{ b }}ms{{ ',' if not loop.last }}
{%- endfor %}
{%- endmacro %}

{# The q-quantile (0 < q < 1) of latency, ms, from cumulative counts `<prefix><b>ms` and the total,
   as Prometheus histogram_quantile: rank q * total, the first bucket whose cumulative count
   reaches it, linear interpolation inside that bucket (the first bucket starts at 0); a rank in
   the +Inf bucket returns the highest finite bound. Null when there are no requests. The governed
   metrics p50/p95/p99_latency (_technical_operations__semantic.yml) write the same rule over the
   same var; tests/dbt/test_operations_and_sales.py holds them equal. #}
{% macro latency_quantile(q, total='requests', prefix='requests_within_') -%}
{%- set bounds = var('latency_buckets_ms') -%}
cast(case
    when coalesce({{ total }}, 0) = 0 then null
{%- for b in bounds %}
{%- set lo = 0 if loop.first else bounds[loop.index0 - 1] %}
{%- set below = '0' if loop.first else prefix ~ lo ~ 'ms' %}
    when {{ prefix }}{{ b }}ms >= {{ q }} * {{ total }} then {{ lo }} + {{ b - lo }} * ({{ q }} * {{ total }} - {{ below }}) / nullif({{ prefix }}{{ b }}ms - {{ below }}, 0)
{%- endfor %}
    else {{ bounds[-1] }}
end as {{ type_float() }})
{%- endmacro %}
