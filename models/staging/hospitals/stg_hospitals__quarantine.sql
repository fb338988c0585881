-- Rows of the hospital and income files that cannot be used, with the file, the row's key and
-- the reason. Rows read = rows staged + rows quarantined.
select
    'Hospital_General_Information' as extract_name,
    facility_id as record_key,
    quarantine_reason
from {{ ref('base_cms__hospitals') }}
where quarantine_reason is not null
union all
select
    'Complications_and_Deaths-Hospital' as extract_name,
    facility_id || ' ' || coalesce(measure_id, '') as record_key,
    quarantine_reason
from {{ ref('base_cms__complications_and_deaths') }}
where quarantine_reason is not null
union all
select
    'ACSDT5Y.B19013-Data' as extract_name,
    geo_id as record_key,
    quarantine_reason
from {{ ref('base_acs__median_household_income') }}
where quarantine_reason is not null
