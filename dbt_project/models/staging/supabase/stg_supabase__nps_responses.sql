select
    id as nps_response_id,
    organization_id,
    user_id,
    score,
    case when score >= 9 then 'promoter' when score >= 7 then 'passive' else 'detractor' end as nps_category,
    comment,
    survey,
    created_at,
    cast(created_at as date) as responded_on
from {{ source('supabase', 'nps_responses') }}
