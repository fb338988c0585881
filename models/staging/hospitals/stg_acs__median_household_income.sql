-- Clean ZCTA median household incomes (NULL where the Census could not compute one).
select {{ star_except(['rows_with_key', 'identical_rows', 'identical_copy', 'quarantine_reason']) }}
from {{ ref('base_acs__median_household_income') }}
where quarantine_reason is null
