select
    id as budget_id,
    cast(month as date) as budget_month,
    department,
    amount,
    lower(currency) as currency
from {{ source('supabase', 'budgets') }}
