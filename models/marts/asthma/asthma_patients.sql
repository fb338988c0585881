-- Patient-grain asthma mart for BI: pseudonymous key, bands and counts. No direct identifiers.
-- followup_start_date dates each patient's follow-up counts for the dbt semantic layer.
select
    *,
    cast('{{ var("followup_start") }}' as date) as followup_start_date
from {{ ref('int_asthma_patient_utilisation') }}
