-- Asthma medicine exposures of the OMOP input in the layout of the prescriptions extract. The
-- BNF code is the BNF chemical of the exposure's ingredient (ref_omop_concept_sets.maps_to), so
-- base_asthma__prescriptions classes it as it does an extract's. OMOP's quantity counts units of
-- the drug's form; a positive whole number is taken as the items issued, anything else as one.
with

outcomes as (
    select * from {{ ref('stg_omop__row_outcomes') }}
),

drugs as (
    select drugs.*
    from {{ ref('base_omop__drugs') }} as drugs
    inner join outcomes
        on
            outcomes.omop_table = 'drug_exposure'
            and drugs.omop_row_number = outcomes.omop_row_number
            and outcomes.outcome = 'used: prescriptions'
),

final as (
    select
        cast(drug_exposure_id as string) as prescription_id,
        cast(person_id as string) as patient_id,
        cast(drug_exposure_start_date as string) as issue_date,
        bnf_chemical_code as bnf_code,
        medicine,
        cast(case when quantity > 0 and quantity = round(quantity) then cast(quantity as bigint) else 1 end as string)
            as quantity,
        case when medicine_class in ('LTRA', 'OCS') then 'tablet' else 'inhaler' end as quantity_unit
    from drugs
)

select * from final
order by prescription_id
