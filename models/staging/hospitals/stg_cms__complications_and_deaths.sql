-- Clean hospital x measure rows of Complications and Deaths.
select {{ star_except(['is_known_hospital', 'rows_with_key', 'quarantine_reason']) }}
from {{ ref('base_cms__complications_and_deaths') }}
where quarantine_reason is null
