{{ config(meta={'dagster': {'ref': {'name': 'fct_pipeline_monthly'}}}) }}
-- Won and lost amounts per month in fct_pipeline_monthly and fct_sales_performance_monthly equal
-- the closed opportunities, and every opportunity is counted once as created.
with opportunities as (
    select
        sum(case when is_won then amount_reporting else 0 end) as won_amount,
        sum(case when is_lost then amount_reporting else 0 end) as lost_amount,
        count(*) as created
    from {{ ref('fct_opportunities') }}
),

pipeline as (
    select sum(won_amount) as won_amount, sum(lost_amount) as lost_amount, sum(created_opportunities) as created
    from {{ ref('fct_pipeline_monthly') }}
),

reps as (
    select sum(won_amount) as won_amount, sum(lost_amount) as lost_amount, sum(opportunities_created) as created
    from {{ ref('fct_sales_performance_monthly') }}
)

select opportunities.*, pipeline.won_amount as pipeline_won, reps.won_amount as reps_won
from opportunities cross join pipeline cross join reps
where abs(opportunities.won_amount - pipeline.won_amount) > 0.01
   or abs(opportunities.lost_amount - pipeline.lost_amount) > 0.01
   or abs(opportunities.won_amount - reps.won_amount) > 0.01
   or abs(opportunities.lost_amount - reps.lost_amount) > 0.01
   or opportunities.created != pipeline.created
   or opportunities.created != reps.created
