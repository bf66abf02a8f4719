{{ config(
    materialized='incremental',
    unique_key=['date_day', 'currency'],
    on_schema_change='append_new_columns'
) }}
{#- Revenue recognition, ASC 606 style (DESIGN.md, DECISIONLOG "Revenue recognition"):
    - each line of a finalised, not-void invoice is recognised evenly per day over its service
      period [service_start_date, service_end_date) (UTC dates), in whole minor units with
      cumulative rounding (macro recognized_through_day) so a line's days sum to its amount;
    - a line without a usable period (start = end) is recognised on its finalisation day;
    - with var revenue_recognition_catch_up_arrears = true, service days that fall before the
      invoice was finalised (billing in arrears: metered usage, proration) are recognised on
      the finalisation day instead of in the past (default false: in the service period);
    - a refund is negative revenue on its day: it lowers both invoiced and recognised that day
      and leaves the deferred balance alone.
    Rows run up to the as-of date: var revenue_recognition_as_of_date (then only invoices
    finalised and refunds made by that day count: the books as known that day), else the last
    day with a finalised invoice or a refund. Incremental runs reprocess from the earlier of
    (last day loaded - revenue_recognition_lookback_days) and the first recognition day of any
    line finalised since then, carrying the deferred balance in from the day before. -#}
{%- set catch_up = var('revenue_recognition_catch_up_arrears', false) -%}
{%- set as_of_var = var('revenue_recognition_as_of_date', none) -%}
{%- set lookback = var('revenue_recognition_lookback_days', 7) | int -%}

with lines as (
    select
        invoice_line_id,
        currency,
        amount_minor,
        fx_rate_to_usd,
        finalized_date,
        service_start_date,
        service_end_date,
        service_days,
        case
            when service_days = 0 then finalized_date
            {% if catch_up -%}
            else greatest(service_start_date, finalized_date)
            {%- else -%}
            else service_start_date
            {%- endif %}
        end as first_recognition_date
    from {{ ref('int_revenue_invoice_lines') }}
),

refunds as (
    select refunded_date, currency, amount_minor, amount_usd
    from {{ ref('int_revenue_refunds') }}
),

as_of as (
    {% if as_of_var -%}
    select {{ date_literal(as_of_var) }} as as_of_date
    {%- else -%}
    select max(d) as as_of_date
    from (
        select max(finalized_date) as d from lines
        union all
        select max(refunded_date) as d from refunds
    ) as last_days
    {%- endif %}
),

reprocess as (
    {% if is_incremental() -%}
    select least(
        {{ add_days('(select max(date_day) from ' ~ this ~ ')', -lookback) }},
        coalesce(
            (select min(first_recognition_date) from lines
             where finalized_date >= {{ add_days('(select max(date_day) from ' ~ this ~ ')', -lookback) }}),
            {{ add_days('(select max(date_day) from ' ~ this ~ ')', -lookback) }}
        )
    ) as from_day
    {%- else -%}
    select min(d) as from_day
    from (
        select min(first_recognition_date) as d from lines
        union all
        select min(finalized_date) as d from lines
        union all
        select min(refunded_date) as d from refunds
    ) as first_days
    {%- endif %}
),

-- lines known at the as-of date with something to recognise or invoice on or after from_day
relevant_lines as (
    select lines.*
    from lines
    cross join reprocess
    cross join as_of
    where lines.finalized_date <= as_of.as_of_date
      and (lines.finalized_date >= reprocess.from_day
           or (lines.service_days > 0 and lines.service_end_date > reprocess.from_day))
),

service_spine as (
    {#- catch-up mode also needs the service days before from_day of lines finalised since
        (recognised on their finalisation day); days before from_day drop out at the join to `days` -#}
    {{ date_spine(
        ('least((select from_day from reprocess), coalesce((select min(service_start_date) from relevant_lines where service_days > 0 and finalized_date >= (select from_day from reprocess)), (select from_day from reprocess)))' if catch_up else '(select from_day from reprocess)'),
        '(select as_of_date from as_of)'
    ) }}
),

scheduled as (
    select
        relevant_lines.currency,
        relevant_lines.fx_rate_to_usd,
        {% if catch_up -%}
        greatest(service_spine.date_day, relevant_lines.finalized_date)
        {%- else -%}
        service_spine.date_day
        {%- endif %} as recognition_date,
        {{ recognized_through_day('relevant_lines.amount_minor', days_between('relevant_lines.service_start_date', 'service_spine.date_day') ~ ' + 1', 'relevant_lines.service_days') }}
        - {{ recognized_through_day('relevant_lines.amount_minor', days_between('relevant_lines.service_start_date', 'service_spine.date_day'), 'relevant_lines.service_days') }}
            as recognized_minor
    from relevant_lines
    inner join service_spine
        on service_spine.date_day >= relevant_lines.service_start_date
       and service_spine.date_day < relevant_lines.service_end_date
    where relevant_lines.service_days > 0

    union all

    select
        currency,
        fx_rate_to_usd,
        finalized_date as recognition_date,
        amount_minor as recognized_minor
    from relevant_lines
    where service_days = 0
),

recognized_daily as (
    select
        recognition_date as date_day,
        currency,
        sum(recognized_minor) as recognized_schedule_minor,
        sum({{ minor_to_major('recognized_minor', 'currency') }} * fx_rate_to_usd) as recognized_schedule_usd
    from scheduled
    group by recognition_date, currency
),

invoiced_daily as (
    select
        finalized_date as date_day,
        currency,
        sum(amount_minor) as invoiced_gross_minor,
        sum({{ minor_to_major('amount_minor', 'currency') }} * fx_rate_to_usd) as invoiced_gross_usd
    from relevant_lines
    group by finalized_date, currency
),

refunds_daily as (
    select
        refunded_date as date_day,
        currency,
        sum(amount_minor) as refunds_minor,
        sum(amount_usd) as refunds_usd
    from refunds
    where refunded_date <= (select as_of_date from as_of)
    group by refunded_date, currency
),

currencies as (
    select currency from lines
    union distinct
    select currency from refunds
),

days as (
    {{ date_spine('(select from_day from reprocess)', '(select as_of_date from as_of)') }}
),

movements as (
    select
        days.date_day,
        currencies.currency,
        coalesce(invoiced_daily.invoiced_gross_minor, 0) as invoiced_gross_minor,
        coalesce(refunds_daily.refunds_minor, 0) as refunds_minor,
        coalesce(recognized_daily.recognized_schedule_minor, 0) as recognized_schedule_minor,
        coalesce(invoiced_daily.invoiced_gross_usd, 0) as invoiced_gross_usd,
        coalesce(refunds_daily.refunds_usd, 0) as refunds_usd,
        coalesce(recognized_daily.recognized_schedule_usd, 0) as recognized_schedule_usd
    from days
    cross join currencies
    left join invoiced_daily
        on invoiced_daily.date_day = days.date_day and invoiced_daily.currency = currencies.currency
    left join refunds_daily
        on refunds_daily.date_day = days.date_day and refunds_daily.currency = currencies.currency
    left join recognized_daily
        on recognized_daily.date_day = days.date_day and recognized_daily.currency = currencies.currency
),
{%- if is_incremental() %}

opening as (
    select currency, deferred_balance_minor, deferred_balance_usd
    from {{ this }}
    where date_day = {{ add_days('(select from_day from reprocess)', -1) }}
),
{%- endif %}

balances as (
    select
        movements.*,
        {% if is_incremental() %}coalesce(opening.deferred_balance_minor, 0) + {% endif -%}
        sum(movements.invoiced_gross_minor - movements.recognized_schedule_minor) over (
            partition by movements.currency order by movements.date_day
            rows between unbounded preceding and current row
        ) as deferred_balance_minor,
        {% if is_incremental() %}coalesce(opening.deferred_balance_usd, 0) + {% endif -%}
        sum(movements.invoiced_gross_usd - movements.recognized_schedule_usd) over (
            partition by movements.currency order by movements.date_day
            rows between unbounded preceding and current row
        ) as deferred_balance_usd
    from movements
    {%- if is_incremental() %}
    left join opening on opening.currency = movements.currency
    {%- endif %}
)

select
    date_day,
    {{ month_start('date_day') }} as month_start,
    currency,
    {{ minor_to_major('invoiced_gross_minor', 'currency') }} as invoiced_gross,
    {{ minor_to_major('refunds_minor', 'currency') }} as refunds,
    {{ minor_to_major('invoiced_gross_minor - refunds_minor', 'currency') }} as invoiced,
    {{ minor_to_major('recognized_schedule_minor', 'currency') }} as recognized_schedule,
    {{ minor_to_major('recognized_schedule_minor - refunds_minor', 'currency') }} as recognized,
    {{ minor_to_major('deferred_balance_minor', 'currency') }} as deferred_balance,
    invoiced_gross_usd,
    refunds_usd,
    invoiced_gross_usd - refunds_usd as invoiced_usd,
    recognized_schedule_usd,
    recognized_schedule_usd - refunds_usd as recognized_usd,
    deferred_balance_usd,
    deferred_balance_minor
from balances
