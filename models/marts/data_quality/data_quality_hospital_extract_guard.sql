-- Guard on whole hospital and income extracts (the asthma ones are guarded in staging, by
-- stg_asthma__extract_guard): fails the build when an extract's quarantined share is above var
-- max_quarantined_share, naming it, its top reasons and up to five example record keys (CMS
-- facility ids and ZCTAs, which are public).
{{ config(materialized='table') }}
{{ quarantine_guard('stg_hospitals__extract_row_counts', 'stg_hospitals__quarantine', 'record_key') }}
