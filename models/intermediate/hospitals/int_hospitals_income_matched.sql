-- Each clean hospital's ZIP matched to the median household income of its ZCTA. A ZIP with no
-- ZCTA (PO boxes, single organisations) or whose ZCTA income is not computable ("-") falls
-- back to the median over the computable ZCTAs sharing the ZIP's first three digits; the method
-- used is on every row. Income tiers come from ref_income_tiers; quintiles from the national
-- distribution of ZCTA incomes (1 = lowest income). Census top- and bottom-coded medians
-- ("250,000+", "2,500-") are bounds, not measurements: income_coding says which a hospital has,
-- so the regression can leave them out (var regression_include_coded_incomes).
with

hospitals as (
    select * from {{ ref('stg_cms__hospitals') }}
),

zctas as (
    select * from {{ ref('stg_acs__median_household_income') }}
),

tiers as (
    select * from {{ ref('ref_income_tiers') }}
),

zip3_medians as (
    select
        left(zcta, 3) as zip3,
        median(median_household_income) as zip3_median_income,
        count(*) as zip3_zctas
    from zctas
    where median_household_income is not null
    group by left(zcta, 3)
),

quintile_cuts as (
    select {{ quantile_cont_list('median_household_income', [0.2, 0.4, 0.6, 0.8]) }} as cuts
    from zctas
    where median_household_income is not null
),

matched as (
    select
        hospitals.facility_id,
        hospitals.zip_code,
        zctas.zcta is not null as has_zcta,
        zctas.median_household_income as zcta_median_income,
        zctas.is_top_coded,
        zctas.is_bottom_coded,
        case
            when zctas.median_household_income is null then null
            when zctas.is_top_coded then 'top-coded'
            when zctas.is_bottom_coded then 'bottom-coded'
            else 'estimate'
        end as zcta_income_coding,
        zip3_medians.zip3_median_income,
        coalesce(zctas.median_household_income, zip3_medians.zip3_median_income) as median_household_income,
        case
            when zctas.median_household_income is not null then 'zcta'
            when zip3_medians.zip3_median_income is not null and zctas.zcta is null then 'zip3_median_no_zcta'
            when zip3_medians.zip3_median_income is not null then 'zip3_median_not_computable'
            else 'unmatched'
        end as income_match_method
    from hospitals
    left join zctas on hospitals.zip_code = zctas.zcta
    left join zip3_medians on left(hospitals.zip_code, 3) = zip3_medians.zip3
),

final as (
    select
        matched.*,
        case
            when matched.income_match_method = 'zcta' then matched.zcta_income_coding
            when matched.income_match_method like 'zip3_median%' then 'zip3 median'
        end as income_coding,
        coalesce(matched.income_match_method = 'zcta' and matched.zcta_income_coding != 'estimate', false)
            as is_income_coded,
        tiers.income_tier,
        tiers.tier_order as income_tier_order,
        case
            when matched.median_household_income is not null
                then
                    1
                    {% for i in range(1, 5) %}
                        + cast({{ list_at('quintile_cuts.cuts', i) }} <= matched.median_household_income as int)
                    {% endfor %}
        end as income_quintile
    from matched
    cross join quintile_cuts
    left join tiers
        on
            matched.median_household_income >= tiers.income_lower
            and matched.median_household_income < tiers.income_upper_exclusive
)

select * from final
