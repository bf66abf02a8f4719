-- Leads with their funnel stage, source, campaign and conversion (DECISIONLOG "Lead funnel").
select * from {{ ref('int_lead_funnel') }}
