-- Rows of the asthma extracts that cannot be used, with the extract, the row's own key and
-- the reason, and the row's number in the file (1 = first data row) to find it by without
-- repeating its content. Nothing is dropped silently: rows read = rows staged + rows quarantined.
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
        source_row_number,
        quarantine_reason
    from {{ ref('base_asthma__' ~ extract) }}
    where quarantine_reason is not null
    {% if not loop.last %}union all{% endif %}
{% endfor %}
