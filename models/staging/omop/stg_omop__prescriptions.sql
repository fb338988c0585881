-- Asthma medicine exposures of the OMOP input in the layout of the prescriptions extract. The
-- BNF code is the BNF chemical of the exposure's ingredient (ref_omop_concept_sets.maps_to), so
-- base_asthma__prescriptions classes it as it does an extract's. OMOP's quantity counts units of
-- the drug's form; a positive whole number is taken as the items issued, anything else as one.
with

drugs as (
    {{ omop_rows_with_outcome('base_omop__drugs', 'drug_exposure', 'used: prescriptions') }}
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
