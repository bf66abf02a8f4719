-- The deferred balance on the last day equals, per currency, what the lines finalised by then
-- have not yet recognised, computed independently as amount x (service days still to come /
-- service days). The daily schedule rounds each line to whole cents, so allow 0.01 per line.
with as_of as (
    select max(date_day) as as_of_date from {{ ref('fct_revenue_recognition_daily') }}
),

expected as (
    select
        lines.currency,
        count(*) as lines,
        sum(
            case
                when lines.service_days = 0 then 0
                else lines.amount * (
                    lines.service_days
                    - least(greatest({{ days_between('lines.service_start_date', 'as_of.as_of_date') }} + 1, 0), lines.service_days)
                ) / lines.service_days
            end
        ) as expected_deferred
    from {{ ref('int_revenue_invoice_lines') }} as lines
    cross join as_of
    where lines.finalized_date <= as_of.as_of_date
    group by lines.currency
),

actual as (
    select daily.currency, daily.deferred_balance
    from {{ ref('fct_revenue_recognition_daily') }} as daily
    inner join as_of on daily.date_day = as_of.as_of_date
)

select expected.currency, expected.lines, expected.expected_deferred, actual.deferred_balance
from expected
left join actual on actual.currency = expected.currency
where actual.deferred_balance is null
   or abs(actual.deferred_balance - expected.expected_deferred) > 0.01 * expected.lines
