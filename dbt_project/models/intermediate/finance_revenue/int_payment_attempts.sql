-- Every charge attempt with the invoice it tried to pay (charge.payment_intent =
-- invoice payment.payment_intent) and its place in that invoice's sequence of attempts.
with attempts as (
    select
        charges.charge_id,
        charges.payment_intent_id,
        payments.invoice_id,
        charges.customer_id,
        charges.currency,
        charges.amount as amount_minor,
        charges.amount_refunded as amount_refunded_minor,
        charges.status,
        charges.is_successful,
        charges.failure_code,
        charges.failure_message,
        charges.outcome_type,
        charges.created_at,
        row_number() over (
            partition by coalesce(payments.invoice_id, charges.payment_intent_id, charges.charge_id)
            order by charges.created_at, charges.charge_id
        ) as attempt_number
    from {{ ref('stg_stripe__charges') }} as charges
    left join {{ ref('stg_stripe__invoice_payments') }} as payments
        on payments.payment_intent_id = charges.payment_intent_id
)

select
    attempts.*,
    attempts.attempt_number > 1 as is_retry,
    -- failed attempts on the same invoice before this one
    coalesce(sum(case when attempts.is_successful then 0 else 1 end) over (
        partition by coalesce(attempts.invoice_id, attempts.payment_intent_id, attempts.charge_id)
        order by attempts.attempt_number
        rows between unbounded preceding and 1 preceding
    ), 0) as prior_failed_attempts
from attempts
