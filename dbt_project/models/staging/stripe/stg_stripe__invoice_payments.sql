select
    p.id as invoice_payment_id,
    inv.id as invoice_id,
    p.payment__payment_intent as payment_intent_id,
    p.status,
    p.amount_requested,
    p.amount_paid,
    {{ from_unix('p.created') }} as created_at,
    {{ from_unix('p.status_transitions__paid_at') }} as paid_at
from {{ dlt_child('stripe', 'invoices', 'payments__data', {
    'id': type_string(), 'payment__payment_intent': type_string(), 'status': type_string(),
    'amount_requested': type_int(), 'amount_paid': type_int(), 'created': type_int(),
    'status_transitions__paid_at': type_int(), '_dlt_parent_id': type_string()}) }} as p
inner join {{ source('stripe', 'invoices') }} as inv on p._dlt_parent_id = inv._dlt_id
