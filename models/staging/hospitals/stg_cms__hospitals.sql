-- Clean CMS hospitals (one row per Facility ID).
select {{ star_except(['is_known_state', 'rows_with_key', 'identical_rows', 'identical_copy', 'quarantine_reason']) }}
from {{ ref('base_cms__hospitals') }}
where quarantine_reason is null
