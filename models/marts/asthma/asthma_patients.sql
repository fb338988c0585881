-- Patient-grain asthma mart for BI: pseudonymous key, bands and counts. No direct identifiers.
select * from {{ ref('int_asthma_patient_utilisation') }}
