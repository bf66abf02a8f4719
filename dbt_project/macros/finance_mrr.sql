{# Helpers of the MRR models (models/intermediate/finance/int_finance__mrr_*, marts/finance/fct_*mrr*).
   Rules are explained in DECISIONLOG.md ("MRR", "Discounts in MRR", "Currency conversion"). #}

{# Calendar date (UTC) of a timestamp. DuckDB casts TIMESTAMPTZ to DATE in the session time zone,
   so normalise to UTC first; BigQuery's DATE(ts) is UTC already. #}
{% macro utc_date(ts_expr) -%}{{ return(adapter.dispatch('utc_date', 'psz')(ts_expr)) }}{%- endmacro %}
{% macro duckdb__utc_date(ts_expr) -%}cast(timezone('UTC', {{ ts_expr }}) as date){%- endmacro %}
{% macro bigquery__utc_date(ts_expr) -%}date({{ ts_expr }}){%- endmacro %}

{# Minor units (cents) -> major units. Zero-decimal currencies (Stripe's list) are not divided. #}
{% macro minor_to_major(amount, currency) -%}
case when {{ currency }} in ('bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf',
                             'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf')
     then cast({{ amount }} as {{ type_float() }})
     else cast({{ amount }} as {{ type_float() }}) / 100.0
end
{%- endmacro %}

{# Share of a line's amount that is kept after its discounts, by var('mrr_discount_rule'):
   'applied' = 1 - discount_amount / amount of that invoice line (what the line actually discounted:
   forever, repeating and once coupons alike, for the periods they applied to); 'none' = list price. #}
{% macro mrr_discount_factor(amount, discount_amount) -%}
{%- set rule = var('mrr_discount_rule', 'applied') -%}
{%- if rule == 'applied' -%}
case when {{ amount }} > 0
     then 1.0 - cast(coalesce({{ discount_amount }}, 0) as {{ type_float() }}) / cast({{ amount }} as {{ type_float() }})
     else 1.0 end
{%- elif rule == 'none' -%}
1.0
{%- else -%}
{{ exceptions.raise_compiler_error("var mrr_discount_rule must be 'applied' or 'none', got '" ~ rule ~ "'") }}
{%- endif -%}
{%- endmacro %}

{# Subscription statuses (current status) that contribute no MRR at all (DESIGN: trials excluded;
   an incomplete subscription never had a successful first payment). #}
{% macro mrr_excluded_statuses() -%}
('trialing', 'incomplete', 'incomplete_expired')
{%- endmacro %}
