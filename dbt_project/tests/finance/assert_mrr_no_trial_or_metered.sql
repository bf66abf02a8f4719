-- MRR never comes from a metered price, a zero-amount (trial) line, or a subscription that is
-- trialing/incomplete, and never lasts past a subscription's end.
select items.subscription_item_id, items.date_day
from {{ ref('int_finance__mrr_item_daily') }} as items
inner join {{ ref('dim_plans') }} as plans on plans.price_id = items.price_id
inner join {{ ref('stg_stripe__invoice_lines') }} as lines on lines.invoice_line_id = items.source_invoice_line_id
left join {{ ref('stg_stripe__subscriptions') }} as subs on subs.subscription_id = items.subscription_id
where plans.usage_type = 'metered'
   or lines.amount <= 0
   or subs.status in {{ mrr_excluded_statuses() }}
   or items.date_day >= {{ utc_date('subs.ended_at') }}
