-- Every row of the OMOP drug_exposure table, cleaned, with the asthma medicine class its
-- ingredients give (if any) and the first reason (if any) it cannot be used. A drug is resolved
-- to its ingredients through the medicine concept sets (the ingredient itself, or a descendant
-- through the data's concept_ancestor); a drug with an ICS and a LABA ingredient is an ICS/LABA.
with

source as (
    {{ omop_select('drug_exposure', {
        'drug_exposure_id': 'drug_exposure_id', 'person_id': 'person_id', 'drug_concept_id': 'drug_concept_id',
        'start_date': 'drug_exposure_start_date', 'start_datetime': 'drug_exposure_start_datetime',
        'quantity': 'quantity', 'drug_source_value': 'drug_source_value'}) }}
),

members as (
    select * from {{ ref('stg_omop__concept_set_members') }}
    where concept_set like 'medicine\_%' escape '\'
),

concept_sets as (
    select * from {{ ref('ref_omop_concept_sets') }}
),

concepts as (
    select * from {{ ref('stg_omop__concepts') }}
),

drug_classes as (
    -- One row per drug concept in any medicine set: its class and the BNF chemical it counts as.
    select
        concept_id,
        case
            when bool_or(concept_set = 'medicine_ics') and bool_or(concept_set = 'medicine_laba') then 'ICS/LABA'
            when count(distinct concept_set) > 1 then 'more than one class'
            when min(concept_set) = 'medicine_laba' then 'LABA without ICS'
            else upper(replace(min(concept_set), 'medicine_', ''))
        end as medicine_class,
        case
            when bool_or(concept_set = 'medicine_ics') and bool_or(concept_set = 'medicine_laba')
                then min(maps_to) filter (where concept_set = 'medicine_laba')
            else min(maps_to)
        end as bnf_chemical_code,
        min(listed_concept_id) as ingredient_concept_id
    from members
    group by concept_id
),

cleaned as (
    select
        omop_row_number,
        {{ omop_ids(['drug_exposure_id', 'person_id', 'drug_concept_id']) }},
        {{ omop_date('start_date', 'start_datetime') }} as drug_exposure_start_date,
        try_cast(quantity as double) as quantity
    from source
),

classified as (
    select
        cleaned.*,
        drug_classes.medicine_class,
        drug_classes.bnf_chemical_code,
        coalesce(concepts.concept_name, ingredient.concept_name) as medicine,
        concepts.concept_id is not null as is_in_vocabulary
    from cleaned
    left join drug_classes on cleaned.drug_concept_id = drug_classes.concept_id
    left join concept_sets as ingredient on drug_classes.ingredient_concept_id = ingredient.concept_id
    left join concepts on cleaned.drug_concept_id = concepts.concept_id
),

final as (
    select
        *,
        {{ omop_exclusion_reason('drug_exposure_id', ['drug_exposure_start_date']) }} as exclusion_reason
    from classified
)

select * from final
order by omop_row_number
