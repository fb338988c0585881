-- depends_on: {{ ref('stg_asthma__extract_guard') }}
-- Clean asthma prescription items with their medicine class.
select
    prescription_id,
    patient_key,
    issue_date,
    bnf_code,
    bnf_chemical_code,
    medicine_class,
    cast(quantity as integer) as quantity,
    quantity_unit,
    -- A SABA item's quantity is the number of canisters (inhalers) issued.
    case when medicine_class = 'SABA' then cast(quantity as integer) else 0 end as saba_canisters
from {{ ref('base_asthma__prescriptions') }}
where quarantine_reason is null
