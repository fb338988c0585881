-- The deprivation of each person on the OMOP register (doc omop_deprivation): with var
-- omop_area_deprivation_path, the decile of their area in that lookup; without it, when their
-- area code is a U.S. ZIP (five digits: the location's zip, a ZIP+4 cut to five), the ACS median
-- household income quintile of the ZCTA of that code, stored as the quintile's first decile (only
-- the quintile is used downstream). One build uses one of the two, never both, so every group
-- of a mart measures the same thing; deprivation_measure names it, or says why there is none.
{% set lookup = var('omop_area_deprivation_path') | string %}
{% set acs = omop_acs_income_file() %}
{#- Real patients are not given the quintiles of a generated ACS file (macro file_origin), unless
    var allow_mixed_origins says to analyse synthetic and supplied files together. -#}
{% set person_origin = file_origin(omop_file('person')).origin if execute and omop_file('person') else 'absent' %}
{% set acs_usable = acs.origin != 'absent' and (acs.origin == person_origin or var('allow_mixed_origins')) %}
{#- Why a person has no quintile. -#}
{% set reasons = {
    'no_area': 'not available: no area code (no location with a zip or location_source_value)',
    'not_in_lookup': 'not available: area not in the lookup (var omop_area_deprivation_path);'
        ~ ' ACS income quintiles are used only without a lookup',
    'no_decile': 'not available: no decile or quintile for the area in the lookup',
    'not_a_zip': 'not available: area code is not a U.S. ZIP and no lookup is given (var omop_area_deprivation_path)',
    'no_acs': 'not available: no ACS median household income file (var acs_income_path)',
    'synthetic_acs': 'not available: the ACS income file read is synthetic (generated) and the OMOP data are not;'
        ~ ' point var acs_income_path at the Census file',
    'not_a_zcta': 'not available: ZIP not a ZCTA of the ACS income file',
    'no_income': 'not available: ACS median household income not computable for the ZCTA',
} %}
with

register as (
    select * from {{ ref('stg_omop__register') }}
),

lookup as (
    select * from {{ ref('stg_omop__area_deprivation') }}
),

zcta_quintiles as (
    select * from {{ ref('stg_omop__zcta_income_quintiles') }}
),

acs_incomes as (
    select * from {{ ref('stg_acs__median_household_income') }}
),

joined as (
    select
        register.person_id,
        register.area_code,
        {{ regex_match('register.area_code', '[0-9]{5}') }} as is_us_zip,
        lookup.area_code is not null as is_in_lookup,
        lookup.imd_decile as lookup_decile,
        acs_incomes.zcta is not null as is_acs_zcta,
        zcta_quintiles.income_quintile
    from register
    left join lookup on register.area_code = lookup.area_code
    left join acs_incomes on register.area_code = acs_incomes.zcta
    left join zcta_quintiles on register.area_code = zcta_quintiles.zcta
),

final as (
    select
        person_id,
        -- The key asthma_patients joins on (as base_asthma__patients makes it from patient_id).
        {{ pseudonymise('cast(person_id as string)') }} as patient_key,
        area_code,
        {% if lookup -%}
            lookup_decile as imd_decile,
        {%- elif acs_usable -%}
            case when is_us_zip then 2 * income_quintile - 1 end as imd_decile,
        {%- else -%}
            cast(null as integer) as imd_decile,
        {%- endif %}
        case
            when area_code is null then {{ sql_string(reasons.no_area) }}
            {% if lookup -%}
                when not is_in_lookup then {{ sql_string(reasons.not_in_lookup) }}
                when lookup_decile is null then {{ sql_string(reasons.no_decile) }}
            {%- else -%}
                when not is_us_zip then {{ sql_string(reasons.not_a_zip) }}
                {% if not acs_usable -%}
                    when true then {{ sql_string(reasons.no_acs if acs.origin == 'absent' else reasons.synthetic_acs) }}
                {%- endif %}
                when not is_acs_zcta then {{ sql_string(reasons.not_a_zcta) }}
                when income_quintile is null then {{ sql_string(reasons.no_income) }}
            {%- endif %}
            else {{ sql_string(deprivation_measure()) }}
        end as deprivation_measure
    from joined
)

select * from final
order by person_id
