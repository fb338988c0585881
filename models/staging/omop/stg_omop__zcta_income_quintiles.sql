-- Every ZCTA of the ACS median household income file the hospital half reads with an income,
-- and its quintile among them (doc omop_deprivation): ZCTAs ranked by income, ties by ZCTA code,
-- and cut by ntile(5) into five groups of as near equal size as the count allows (the first
-- count mod 5 groups have one more). Quintile 1 = lowest income, the marts' "most deprived".
with

incomes as (
    select * from {{ ref('stg_acs__median_household_income') }}
    where median_household_income is not null
),

final as (
    select
        zcta,
        median_household_income,
        row_number() over (order by median_household_income, zcta) as income_rank,
        count(*) over () as zctas_ranked,
        ntile(5) over (order by median_household_income, zcta) as income_quintile
    from incomes
)

select * from final
order by zcta
