-- Metered (usage_type = metered) invoice line amounts per customer, by the month the usage was
-- billed (month of the invoice's finalisation; the usage period itself is the month before).
select
    invoice_month as month_start,
    customer_id,
    currency,
    count(*) as metered_lines,
    count(distinct invoice_id) as invoices,
    sum(quantity) as quantity,
    sum(amount) as amount,
    sum(amount_usd) as amount_usd,
    min(service_start_date) as usage_period_start,
    max(service_end_date) as usage_period_end
from {{ ref('int_revenue_invoice_lines') }}
where usage_type = 'metered'
group by invoice_month, customer_id, currency
