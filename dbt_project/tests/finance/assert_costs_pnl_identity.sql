-- P&L arithmetic: gross profit = revenue - cost of revenue, total opex = the department lines,
-- operating income = gross profit - total opex (usd, 0.01 tolerance).
select *
from {{ ref('fct_pnl_monthly') }}
where abs(gross_profit_usd - (revenue_usd - cost_of_revenue_usd)) > 0.01
   or abs(total_opex_usd - (opex_sales_marketing_usd + opex_research_development_usd + opex_general_admin_usd
                            + opex_customer_success_usd + opex_other_usd)) > 0.01
   or abs(operating_income_usd - (gross_profit_usd - total_opex_usd)) > 0.01
