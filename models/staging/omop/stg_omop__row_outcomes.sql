-- Where every row of the OMOP tables read ended: one row per row of each table, with its number
-- in the file and its outcome: 'used: <asthma extract contract> ...' or the reason it was left
-- out. The stand-in models (stg_omop__<extract>) take exactly the rows marked used, so rows read
-- = rows used + rows excluded, table by table (data_quality_omop_row_outcomes).
with

register as (
    select * from {{ ref('stg_omop__register') }}
),

persons as (
    select * from {{ ref('base_omop__persons') }}
),

periods as (
    select * from {{ ref('base_omop__observation_periods') }}
),

visits as (
    select * from {{ ref('base_omop__visits') }}
),

-- Each condition with the staging contract of its visit, when the visit is usable.
conditions as (
    select
        condition_rows.*,
        usable_visits.staging_contract as visit_contract
    from {{ ref('base_omop__conditions') }} as condition_rows
    left join visits as usable_visits
        on
            condition_rows.visit_occurrence_id = usable_visits.visit_occurrence_id
            and condition_rows.person_id = usable_visits.person_id
            and usable_visits.exclusion_reason is null
),

-- The medicine classes the asthma measures count, as the extracts' BNF reference lists them.
asthma_classes as (
    select distinct medicine_class from {{ ref('ref_bnf_asthma_medicines') }}
),

drugs as (
    select * from {{ ref('base_omop__drugs') }}
),

deaths as (
    select * from {{ ref('base_omop__deaths') }}
),

locations as (
    select * from {{ ref('base_omop__locations') }}
),

person_outcomes as (
    {% call omop_outcome_rows('person', 'persons', register='joined') %}
        when register.person_id is not null then 'used: patients'
        when not exists (
            select 1
            from periods
            where periods.person_id = persons.person_id and periods.exclusion_reason is null
        ) then 'no usable observation period'
        else 'no asthma condition inside an observation period'
    {% endcall %}
),

period_outcomes as (
    {% call omop_outcome_rows('observation_period', 'periods') %}
        when periods.omop_row_number = register.observation_period_row_number
            then 'used: patients (registration dates)'
        else 'another observation period of the person is used (the latest with an asthma condition)'
    {% endcall %}
),

condition_outcomes as (
    {% call omop_outcome_rows('condition_occurrence', 'conditions', concept_column='condition_concept_id') %}
        when conditions.concept_set is null and conditions.is_in_vocabulary then 'not in an asthma concept set'
        when conditions.concept_set is null and exists (select 1 from {{ ref('stg_omop__concepts') }})
            then 'concept missing from the supplied vocabulary (not classifiable)'
        when conditions.concept_set is null then 'not in an asthma concept set (no vocabulary supplied)'
        when conditions.visit_contract = 'hospital_admissions'
            then 'used: hospital_admissions (asthma diagnosis)'
        when
            conditions.concept_set = 'asthma_exacerbation' and conditions.visit_contract = 'gp_events'
            then 'used: gp_events (code of the consultation)'
        when conditions.concept_set = 'asthma_exacerbation' then 'used: gp_events (acute asthma consultation)'
        else 'used: patients (asthma diagnosis)'
    {% endcall %}
),

visit_outcomes as (
    {% call omop_outcome_rows('visit_occurrence', 'visits', concept_column='visit_concept_id') %}
        when visits.visit_concept_set = 'visit_emergency_not_admitted'
            then 'emergency room visit without admission (no staging contract holds it)'
        when visits.staging_contract is not null then 'used: ' || visits.staging_contract
        when visits.is_in_vocabulary then 'not in a visit concept set'
        when exists (select 1 from {{ ref('stg_omop__concepts') }})
            then 'concept missing from the supplied vocabulary (not classifiable)'
        else 'not in a visit concept set (no vocabulary supplied)'
    {% endcall %}
),

drug_outcomes as (
    {% call omop_outcome_rows('drug_exposure', 'drugs', concept_column='drug_concept_id') %}
        when drugs.medicine_class in (select asthma_classes.medicine_class from asthma_classes)
            then 'used: prescriptions'
        when drugs.medicine_class is not null then 'not an asthma medicine class: ' || drugs.medicine_class
        when drugs.is_in_vocabulary and exists (
            select 1
            from {{ ref('stg_omop__concept_set_members') }} as members
            where members.membership = 'descendant'
        ) then 'not an asthma medicine'
        when drugs.is_in_vocabulary
            then 'ingredient not resolvable: no concept_ancestor supplied and not an ingredient of a medicine set'
        when exists (select 1 from {{ ref('stg_omop__concepts') }})
            then 'concept missing from the supplied vocabulary (not classifiable)'
        else 'not classifiable: no vocabulary supplied'
    {% endcall %}
),

death_outcomes as (
    {% call omop_outcome_rows('death', 'deaths') %}
        else 'used: patients (date of death)'
    {% endcall %}
),

location_outcomes as (
    {% call omop_outcome_rows('location', 'locations', register='none') %}
        when not exists (
            select 1
            from register
            where register.location_id = locations.location_id
        ) then 'no patient on the asthma register lives there'
        when locations.area_code is null then 'used: patients (no area code: deprivation not available)'
        else 'used: patients (area code)'
    {% endcall %}
),

final as (
    select * from person_outcomes
    union all
    select * from period_outcomes
    union all
    select * from condition_outcomes
    union all
    select * from visit_outcomes
    union all
    select * from drug_outcomes
    union all
    select * from death_outcomes
    union all
    select * from location_outcomes
)

select * from final
order by omop_table, omop_row_number
