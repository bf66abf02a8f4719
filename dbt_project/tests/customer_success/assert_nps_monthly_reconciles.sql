-- NPS per month: the 'all' row is the sum of the segment rows, categories add up to the
-- responses, the score is 100 x (promoters - detractors) / responses within -100..100, and the
-- responses match the staging table.
with segments as (
    select month_start, sum(responses) as responses, sum(promoters) as promoters, sum(detractors) as detractors
    from {{ ref('fct_nps_monthly') }}
    where segment <> 'all'
    group by month_start
),

staged as (
    select {{ month_start('responded_on') }} as month_start, count(*) as responses
    from {{ ref('stg_supabase__nps_responses') }}
    group by {{ month_start('responded_on') }}
)

select all_rows.month_start, 'all row differs from the segments' as problem
from {{ ref('fct_nps_monthly') }} as all_rows
left join segments on segments.month_start = all_rows.month_start
where all_rows.segment = 'all'
  and (segments.responses is null or all_rows.responses <> segments.responses
       or all_rows.promoters <> segments.promoters or all_rows.detractors <> segments.detractors)
union all
select month_start, 'categories do not add up or nps out of range'
from {{ ref('fct_nps_monthly') }}
where promoters + passives + detractors <> responses
   or nps < -100 or nps > 100
   or abs(nps - 100.0 * (promoters - detractors) / responses) > 0.051
union all
select staged.month_start, 'responses differ from staging'
from staged
left join {{ ref('fct_nps_monthly') }} as all_rows on all_rows.month_start = staged.month_start and all_rows.segment = 'all'
where all_rows.responses is null or all_rows.responses <> staged.responses
