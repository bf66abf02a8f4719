{# Helpers for the finance (revenue, costs, unit economics) models. Cross-database pieces
   dispatch to duckdb__ / bigquery__ versions like macros/cross_db.sql. #}

{# Integer division of two non-negative integers, truncated (DuckDB `//`, BigQuery DIV). #}
{% macro int_div(numerator, denominator) -%}{{ return(adapter.dispatch('int_div', 'psz')(numerator, denominator)) }}{%- endmacro %}
{% macro duckdb__int_div(numerator, denominator) -%}(({{ numerator }}) // ({{ denominator }})){%- endmacro %}
{% macro bigquery__int_div(numerator, denominator) -%}div({{ numerator }}, {{ denominator }}){%- endmacro %}

{# minor_to_major(amount, currency) and utc_date(ts) come from macros/finance_mrr.sql. #}

{# Straight-line recognition with cumulative rounding in minor units (DECISIONLOG "Revenue
   recognition rounding"): of a line of `amount` minor units over `n_days` service days, the
   first `k` days have recognised sign(amount) * trunc(|amount| * k / n_days). Day k (0-based)
   recognises cumulative(k + 1) - cumulative(k): whole minor units, the remainder spread over the
   period, and the line's days sum to `amount` exactly. #}
{% macro recognized_through_day(amount, day_count, n_days) -%}
(sign({{ amount }}) * {{ int_div('abs(' ~ amount ~ ') * (' ~ day_count ~ ')', n_days) }})
{%- endmacro %}

{# ISO date literal that compiles on both engines. #}
{% macro date_literal(iso_date) -%}cast('{{ iso_date }}' as date){%- endmacro %}
