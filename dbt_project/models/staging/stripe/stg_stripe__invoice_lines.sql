with discounts as (
    select _dlt_parent_id, sum(amount) as discount_amount
    from {{ dlt_child('stripe', 'invoices', 'lines__data__discount_amounts',
                      {'amount': type_int(), '_dlt_parent_id': type_string()}) }}
    group by 1
)

select
    lines.id as invoice_line_id,
    inv.id as invoice_id,
    inv.customer as customer_id,
    lines.parent__subscription_item_details__subscription as subscription_id,
    lines.parent__subscription_item_details__subscription_item as subscription_item_id,
    lines.pricing__price_details__price as price_id,
    lines.pricing__price_details__product as product_id,
    coalesce(lines.parent__subscription_item_details__proration, false) as is_proration,
    lower(lines.currency) as currency,
    lines.amount,
    coalesce(discounts.discount_amount, 0) as discount_amount,
    lines.amount - coalesce(discounts.discount_amount, 0) as net_amount,
    lines.quantity,
    lines.description,
    {{ from_unix('lines.period__start') }} as period_start_at,
    {{ from_unix('lines.period__end') }} as period_end_at
from {{ dlt_child('stripe', 'invoices', 'lines__data', {
    'id': type_string(), 'amount': type_int(), 'currency': type_string(), 'description': type_string(),
    'quantity': type_int(), 'pricing__price_details__price': type_string(), 'pricing__price_details__product': type_string(),
    'period__start': type_int(), 'period__end': type_int(), 'parent__subscription_item_details__proration': 'boolean',
    'parent__subscription_item_details__subscription': type_string(),
    'parent__subscription_item_details__subscription_item': type_string(),
    '_dlt_parent_id': type_string(), '_dlt_id': type_string()}) }} as lines
inner join {{ source('stripe', 'invoices') }} as inv on lines._dlt_parent_id = inv._dlt_id
left join discounts on discounts._dlt_parent_id = lines._dlt_id
