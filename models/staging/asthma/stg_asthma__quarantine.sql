-- Rows of the asthma extracts that cannot be used, with the extract, the row's own key and
-- the reason. Nothing is dropped silently: rows read = rows staged + rows quarantined.
{% set extracts = [
    ('patients', 'patient_id'),
    ('gp_practices', 'practice_code'),
    ('gp_events', 'gp_event_id'),
    ('prescriptions', 'prescription_id'),
    ('hospital_admissions', 'admission_id'),
    ('outpatient_appointments', 'appointment_id'),
] %}
{% for extract, key in extracts %}
    select
        '{{ extract }}' as extract_name,
        cast({{ key }} as varchar) as record_key,
        quarantine_reason
    from {{ ref('base_asthma__' ~ extract) }}
    where quarantine_reason is not null
    {% if not loop.last %}union all{% endif %}
{% endfor %}
