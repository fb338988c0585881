-- Rows read from each raw hospital and income file, counted straight from the source.
select
    'Hospital_General_Information' as extract_name,
    count(*) as rows_read
from {{ source('hospitals_raw', 'hospital_general_information') }}
union all
select
    'Complications_and_Deaths-Hospital' as extract_name,
    count(*) as rows_read
from {{ source('hospitals_raw', 'complications_and_deaths') }}
union all
select
    'ACSDT5Y.B19013-Data' as extract_name,
    count(*) as rows_read
from {{ source('hospitals_raw', 'acs_median_household_income') }}
