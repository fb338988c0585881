-- Clean CMS hospitals (one row per Facility ID).
select {{ star_except(['is_known_state', 'rows_with_key', 'quarantine_reason']) }}
from {{ ref('base_cms__hospitals') }}
where quarantine_reason is null
