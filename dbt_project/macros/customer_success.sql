{# Customer success helpers. The debatable rules are dbt vars; each var has its default here so
   the domain runs even before the vars are copied into dbt_project.yml (DECISIONLOG "Customer
   health"). Plain SQL only: nothing here needs an engine-specific implementation except where
   it dispatches. #}

{% macro cs_setting(name) -%}
    {%- set defaults = {
        'health_weights': {'usage': 0.29, 'engagement': 0.24, 'support': 0.37, 'billing': 0.10},
        'health_risk_bands': {'low': 71, 'medium': 35, 'high': 31},
        'health_trend_threshold': 18,
        'health_incremental_lookback_days': 7,
        'health_neutral_score': 75,
        'usage_pattern_thresholds': {'growing': 1.15, 'declining': 0.85},
        'onboarding_milestones': ['account_created', 'first_api_key', 'first_api_call', 'invited_teammate', 'first_dashboard', 'integration_connected'],
        'time_to_value_milestone': 'first_api_call',
        'time_to_value_target_days': 14,
    } -%}
    {{ return(var(name, defaults[name])) }}
{%- endmacro %}

{# x clamped to [lo, hi]; null stays null (DuckDB's greatest/least skip nulls, BigQuery's return
   null: the case keeps both engines identical). #}
{% macro cs_clamp(expr, lo=0, hi=100) -%}
    (case when ({{ expr }}) is null then null else greatest({{ lo }}, least({{ hi }}, {{ expr }})) end)
{%- endmacro %}

{# A 0-100 score rising linearly from `zero_at` (score 0) to `full_at` (score 100), clamped.
   `full_at` may be below `zero_at` for "lower is better" inputs. #}
{% macro cs_linear_score(expr, zero_at, full_at) -%}
    {{ cs_clamp('100.0 * ((' ~ expr ~ ') - (' ~ zero_at ~ ')) / ((' ~ full_at ~ ') - (' ~ zero_at ~ '))') }}
{%- endmacro %}

{# Weighted average of the non-null parts: [(expr, weight), ...]; null when every part is null. #}
{% macro cs_weighted_avg(parts) -%}
    (({% for expr, weight in parts %}coalesce({{ weight }} * ({{ expr }}), 0){{ ' + ' if not loop.last }}{% endfor %})
     / nullif({% for expr, weight in parts %}(case when ({{ expr }}) is not null then {{ weight }} else 0 end){{ ' + ' if not loop.last }}{% endfor %}, 0))
{%- endmacro %}

{# Risk band of a 0-100 score from the var health_risk_bands. #}
{% macro cs_risk_level(score_expr) -%}
    {%- set bands = cs_setting('health_risk_bands') -%}
    case
        when {{ score_expr }} >= {{ bands['low'] }} then 'low'
        when {{ score_expr }} >= {{ bands['medium'] }} then 'medium'
        when {{ score_expr }} >= {{ bands['high'] }} then 'high'
        else 'critical'
    end
{%- endmacro %}

{# Days since 1970-01-01: an integer day number, so RANGE window frames work on both engines. #}
{% macro cs_day_index(date_expr) -%}{{ days_between("cast('1970-01-01' as date)", date_expr) }}{%- endmacro %}

{# A date literal from a Python date or ISO string. #}
{% macro cs_date_literal(value) -%}cast('{{ value }}' as date){%- endmacro %}

{# On incremental runs: the first day to rewrite (latest day in the table minus the lookback),
   else none. Read at compile time so the filters are literals the engines can push down. #}
{% macro cs_incremental_start(date_column, lookback_days) -%}
    {#- --full-refresh decides before is_incremental() asks the warehouse (a compile for
        BigQuery without a connection passes --full-refresh) -#}
    {%- if execute and not flags.FULL_REFRESH and is_incremental() -%}
        {%- set result = run_query('select max(' ~ date_column ~ ') from ' ~ this) -%}
        {%- set latest = result.columns[0].values()[0] -%}
        {%- if latest is not none -%}
            {%- if latest is string -%}{%- set latest = modules.datetime.date.fromisoformat(latest[:10]) -%}{%- endif -%}
            {{ return((latest - modules.datetime.timedelta(days=lookback_days)).isoformat()[:10]) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(none) }}
{%- endmacro %}

{# Shift an ISO date string by n days (compile time). #}
{% macro cs_shift_date(iso_date, days) -%}
    {{ return((modules.datetime.date.fromisoformat(iso_date) + modules.datetime.timedelta(days=days)).isoformat()) }}
{%- endmacro %}

{# The "today" of the customer success models: the last day with usage data (the demo data ends
   before the wall-clock date, and a live feed lags by a day). #}
{% macro cs_as_of_date() -%}
    (select max(request_date) from {{ ref('stg_usage__api_requests') }})
{%- endmacro %}
