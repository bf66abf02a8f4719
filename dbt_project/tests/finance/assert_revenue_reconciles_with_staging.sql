-- Mart totals reconcile with staging, per currency in major units (0.01 tolerance):
-- invoiced_gross = totals of finalised, not-void invoices finalised by the as-of date;
-- refunds = succeeded refunds made by the as-of date.
{%- set as_of = "(select max(date_day) from " ~ ref('fct_revenue_recognition_daily') ~ ")" %}
with mart as (
    select currency, sum(invoiced_gross) as invoiced_gross, sum(refunds) as refunds
    from {{ ref('fct_revenue_recognition_daily') }}
    group by currency
),

staged_invoices as (
    select currency, sum({{ minor_to_major('total', 'currency') }}) as invoiced_gross
    from {{ ref('stg_stripe__invoices') }}
    where finalized_at is not null
      and voided_at is null
      and status not in ('draft', 'void')
      and {{ utc_date('finalized_at') }} <= {{ as_of }}
    group by currency
),

staged_refunds as (
    select currency, sum({{ minor_to_major('amount', 'currency') }}) as refunds
    from {{ ref('stg_stripe__refunds') }}
    where status = 'succeeded'
      and {{ utc_date('created_at') }} <= {{ as_of }}
    group by currency
)

select
    coalesce(mart.currency, staged_invoices.currency, staged_refunds.currency) as currency,
    mart.invoiced_gross,
    staged_invoices.invoiced_gross as staged_invoiced_gross,
    mart.refunds,
    staged_refunds.refunds as staged_refunds
from mart
full outer join staged_invoices on staged_invoices.currency = mart.currency
full outer join staged_refunds on staged_refunds.currency = coalesce(mart.currency, staged_invoices.currency)
where abs(coalesce(mart.invoiced_gross, 0) - coalesce(staged_invoices.invoiced_gross, 0)) > 0.01
   or abs(coalesce(mart.refunds, 0) - coalesce(staged_refunds.refunds, 0)) > 0.01
