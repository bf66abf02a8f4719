-- NPS per month per customer segment, plus an 'all' row per month.
with by_segment as (
    select
        response_month as month_start,
        segment,
        count(*) as responses,
        sum(is_promoter) as promoters,
        sum(is_passive) as passives,
        sum(is_detractor) as detractors,
        sum(score) as score_sum
    from {{ ref('fct_nps_responses') }}
    group by response_month, segment
),

with_all as (
    select month_start, segment, responses, promoters, passives, detractors, score_sum from by_segment
    union all
    select month_start, 'all', sum(responses), sum(promoters), sum(passives), sum(detractors), sum(score_sum)
    from by_segment
    group by month_start
)

select
    month_start,
    segment,
    responses,
    promoters,
    passives,
    detractors,
    round(100.0 * (promoters - detractors) / responses, 1) as nps,
    round(1.0 * score_sum / responses, 2) as average_score
from with_all
