-- How hospital ZIPs were matched to ZCTA income: hospitals and share by method. The match rate
-- (share with any income) is the sum over methods other than unmatched.
with

hospitals as (
    select * from {{ ref('hospital_equity') }}
)

select
    income_match_method,
    count(*) as hospitals,
    count(*) / sum(count(*)) over () as share_of_hospitals,
    sum(count(*)) filter (where income_match_method != 'unmatched') over ()
    / sum(count(*)) over () as overall_match_rate
from hospitals
group by income_match_method
