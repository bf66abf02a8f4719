{# Cross-database helpers. Each dispatches to duckdb__ / bigquery__ implementations so the
   models carry no engine-specific SQL. #}

{% macro from_unix(column) -%}{{ return(adapter.dispatch('from_unix', 'psz')(column)) }}{%- endmacro %}
{% macro duckdb__from_unix(column) -%}to_timestamp({{ column }}){%- endmacro %}
{% macro bigquery__from_unix(column) -%}timestamp_seconds({{ column }}){%- endmacro %}

{% macro json_text(column, path) -%}{{ return(adapter.dispatch('json_text', 'psz')(column, path)) }}{%- endmacro %}
{% macro duckdb__json_text(column, path) -%}json_extract_string({{ column }}, '{{ path }}'){%- endmacro %}
{% macro bigquery__json_text(column, path) -%}json_value({{ column }}, '{{ path }}'){%- endmacro %}

{% macro add_days(date_expr, days) -%}{{ return(adapter.dispatch('add_days', 'psz')(date_expr, days)) }}{%- endmacro %}
{% macro duckdb__add_days(date_expr, days) -%}cast(({{ date_expr }}) + cast({{ days }} as integer) * interval 1 day as date){%- endmacro %}
{% macro bigquery__add_days(date_expr, days) -%}date_add({{ date_expr }}, interval cast({{ days }} as int64) day){%- endmacro %}

{% macro add_months(date_expr, months) -%}{{ return(adapter.dispatch('add_months', 'psz')(date_expr, months)) }}{%- endmacro %}
{% macro duckdb__add_months(date_expr, months) -%}cast(({{ date_expr }}) + cast({{ months }} as integer) * interval 1 month as date){%- endmacro %}
{% macro bigquery__add_months(date_expr, months) -%}date_add({{ date_expr }}, interval cast({{ months }} as int64) month){%- endmacro %}

{% macro days_between(start_date, end_date) -%}{{ return(adapter.dispatch('days_between', 'psz')(start_date, end_date)) }}{%- endmacro %}
{% macro duckdb__days_between(start_date, end_date) -%}date_diff('day', {{ start_date }}, {{ end_date }}){%- endmacro %}
{% macro bigquery__days_between(start_date, end_date) -%}date_diff({{ end_date }}, {{ start_date }}, day){%- endmacro %}

{% macro hours_between(start_ts, end_ts) -%}{{ return(adapter.dispatch('hours_between', 'psz')(start_ts, end_ts)) }}{%- endmacro %}
{% macro duckdb__hours_between(start_ts, end_ts) -%}(epoch({{ end_ts }}) - epoch({{ start_ts }})) / 3600.0{%- endmacro %}
{% macro bigquery__hours_between(start_ts, end_ts) -%}timestamp_diff({{ end_ts }}, {{ start_ts }}, second) / 3600.0{%- endmacro %}

{% macro month_start(date_expr) -%}{{ return(adapter.dispatch('month_start', 'psz')(date_expr)) }}{%- endmacro %}
{% macro duckdb__month_start(date_expr) -%}cast(date_trunc('month', {{ date_expr }}) as date){%- endmacro %}
{% macro bigquery__month_start(date_expr) -%}date_trunc(cast({{ date_expr }} as date), month){%- endmacro %}

{% macro week_start(date_expr) -%}{{ return(adapter.dispatch('week_start', 'psz')(date_expr)) }}{%- endmacro %}
{% macro duckdb__week_start(date_expr) -%}cast(date_trunc('week', {{ date_expr }}) as date){%- endmacro %}
{% macro bigquery__week_start(date_expr) -%}date_trunc(cast({{ date_expr }} as date), isoweek){%- endmacro %}

{% macro hour_start(ts_expr) -%}{{ return(adapter.dispatch('hour_start', 'psz')(ts_expr)) }}{%- endmacro %}
{% macro duckdb__hour_start(ts_expr) -%}date_trunc('hour', {{ ts_expr }}){%- endmacro %}
{% macro bigquery__hour_start(ts_expr) -%}timestamp_trunc({{ ts_expr }}, hour){%- endmacro %}

{# one row per day from start_date to end_date inclusive, column `date_day` #}
{% macro date_spine(start_date, end_date) -%}{{ return(adapter.dispatch('date_spine', 'psz')(start_date, end_date)) }}{%- endmacro %}
{% macro duckdb__date_spine(start_date, end_date) -%}
select cast(d as date) as date_day from generate_series(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day) as t(d)
{%- endmacro %}
{% macro bigquery__date_spine(start_date, end_date) -%}
select date_day from unnest(generate_date_array(cast({{ start_date }} as date), cast({{ end_date }} as date))) as date_day
{%- endmacro %}

{% macro safe_divide(numerator, denominator) -%}({{ numerator }}) / nullif({{ denominator }}, 0){%- endmacro %}

{# Exact percentile of a group (an aggregate, not a window function), interpolated between the two
   nearest values as DuckDB's quantile_cont and BigQuery's PERCENTILE_CONT do; nulls ignored, null
   for an empty group. BigQuery has PERCENTILE_CONT only as a window function and APPROX_QUANTILES
   is approximate and never interpolates (medians of even groups differed from DuckDB's), so its
   version reads the two neighbours from the sorted values. #}
{% macro percentile(expr, fraction) -%}{{ return(adapter.dispatch('percentile', 'psz')(expr, fraction)) }}{%- endmacro %}
{% macro duckdb__percentile(expr, fraction) -%}quantile_cont({{ expr }}, {{ fraction }}){%- endmacro %}
{% macro bigquery__percentile(expr, fraction) -%}
    {%- set sorted = 'array_agg((' ~ expr ~ ') ignore nulls order by (' ~ expr ~ '))' -%}
    {%- set pos = '((count(' ~ expr ~ ') - 1) * ' ~ fraction ~ ')' -%}
    {%- set below = sorted ~ '[safe_offset(cast(floor(' ~ pos ~ ') as int64))]' -%}
    {%- set above = sorted ~ '[safe_offset(cast(ceil(' ~ pos ~ ') as int64))]' -%}
    ({{ below }} + ({{ pos }} - floor({{ pos }})) * ({{ above }} - {{ below }}))
{%- endmacro %}

{# round(expr, digits) half away from zero on the decimal value, the same on both engines. A plain
   round() of a DOUBLE differs at halves: DuckDB 2 rounds the binary value (3.655 is stored as
   3.65499.. -> 3.65) where BigQuery (and DuckDB 1.x) scale first (-> 3.66), so scores rounded to
   0.1 came out 0.1 apart. Going through NUMERIC (9 decimal places) rounds 3.655 to 3.66 on both. #}
{% macro round_decimal(expr, digits) -%}{{ return(adapter.dispatch('round_decimal', 'psz')(expr, digits)) }}{%- endmacro %}
{% macro duckdb__round_decimal(expr, digits) -%}cast(round(cast({{ expr }} as decimal(38, 9)), {{ digits }}) as double){%- endmacro %}
{% macro bigquery__round_decimal(expr, digits) -%}cast(round(cast({{ expr }} as numeric), {{ digits }}) as float64){%- endmacro %}

{% macro type_string() -%}{{ return(adapter.dispatch('type_string', 'psz')()) }}{%- endmacro %}
{% macro duckdb__type_string() -%}varchar{%- endmacro %}
{% macro bigquery__type_string() -%}string{%- endmacro %}

{% macro type_float() -%}{{ return(adapter.dispatch('type_float', 'psz')()) }}{%- endmacro %}
{% macro duckdb__type_float() -%}double{%- endmacro %}
{% macro bigquery__type_float() -%}float64{%- endmacro %}

{% macro type_int() -%}{{ return(adapter.dispatch('type_int', 'psz')()) }}{%- endmacro %}
{% macro duckdb__type_int() -%}bigint{%- endmacro %}
{% macro bigquery__type_int() -%}int64{%- endmacro %}

{# A dlt child table (a nested list of `parent`, e.g. `invoices__lines__data`): dlt loads it with
   its parent, so dbt lineage points at the parent source and the child is addressed from it.
   If dlt has not created the child yet (no record had such a list), an empty typed select with
   `columns` ({name: type}) stands in. #}
{% macro dlt_child(source_name, parent_table, suffix, columns) -%}
    {#- dlt creates a child table, and each of its columns, only once a record has a value for it:
        an absent table becomes an empty one, an absent column a typed null (e.g. a discount's
        `end` when every coupon of a small company is `forever`). -#}
    {%- set parent = source(source_name, parent_table) -%}
    {%- set child = parent.incorporate(path={"identifier": parent.identifier ~ "__" ~ suffix}) -%}
    {%- set relation = adapter.get_relation(child.database, child.schema, child.identifier) if execute else none -%}
    {%- if execute and relation is none -%}
        (select {% for name, type in columns.items() %}cast(null as {{ type }}) as {{ adapter.quote(name) }}{{ ", " if not loop.last }}{% endfor %} from (select 1 as x) as empty where 1 = 0)
    {%- elif execute -%}
        {%- set present = adapter.get_columns_in_relation(relation) | map(attribute='name') | map('lower') | list -%}
        {%- set missing = [] -%}
        {%- for name, type in columns.items() if name | lower not in present -%}{%- do missing.append((name, type)) -%}{%- endfor -%}
        {%- if missing -%}
        (select *, {% for name, type in missing %}cast(null as {{ type }}) as {{ adapter.quote(name) }}{{ ", " if not loop.last }}{% endfor %} from {{ child }})
        {%- else -%}
        {{ child }}
        {%- endif -%}
    {%- else -%}
        {{ child }}
    {%- endif -%}
{%- endmacro %}

{# ISO day of week: Monday = 1 .. Sunday = 7 #}
{% macro iso_day_of_week(date_expr) -%}{{ return(adapter.dispatch('iso_day_of_week', 'psz')(date_expr)) }}{%- endmacro %}
{% macro duckdb__iso_day_of_week(date_expr) -%}extract(isodow from {{ date_expr }}){%- endmacro %}
{% macro bigquery__iso_day_of_week(date_expr) -%}mod(extract(dayofweek from {{ date_expr }}) + 5, 7) + 1{%- endmacro %}
