-- Guard on whole asthma extracts: fails the build when an extract's quarantined share is above
-- var max_quarantined_share (a file whose dates are all in another format would otherwise vanish
-- with exit 0). Every stg_asthma__ extract view depends on it, so nothing downstream is built
-- from an extract that failed.
{{ config(materialized='table') }}
{{ quarantine_guard('stg_asthma__extract_row_counts', 'stg_asthma__quarantine', 'source_row_number') }}
