-- Clean hospital x measure rows of Complications and Deaths.
select
    {{ star_except(['is_known_hospital', 'rows_with_key', 'identical_rows', 'identical_copy', 'quarantine_reason']) }}
from {{ ref('base_cms__complications_and_deaths') }}
where quarantine_reason is null
