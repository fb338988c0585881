-- Per extract: rows read from the file, rows staged (used) and rows quarantined, and whether
-- they reconcile (rows read = rows staged + rows quarantined). Nothing is dropped silently.
with

rows_read as (
    select * from {{ ref('stg_asthma__extract_row_counts') }}
),

quarantined as (
    select
        extract_name,
        count(*) as rows_quarantined
    from {{ ref('stg_asthma__quarantine') }}
    group by extract_name
),

staged as (
    {% set staged_models = {
        'patients': 'base_asthma__patients', 'gp_practices': 'base_asthma__gp_practices',
        'gp_events': 'base_asthma__gp_events', 'prescriptions': 'base_asthma__prescriptions',
        'hospital_admissions': 'base_asthma__hospital_admissions',
        'outpatient_appointments': 'base_asthma__outpatient_appointments',
    } %}
    {% for extract, model in staged_models.items() %}
        select
            '{{ extract }}' as extract_name,
            count(*) as rows_staged
        from {{ ref(model) }}
        where quarantine_reason is null
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

final as (
    select
        'asthma' as extract_family,
        rows_read.extract_name,
        rows_read.rows_read,
        coalesce(staged.rows_staged, 0) as rows_staged,
        coalesce(quarantined.rows_quarantined, 0) as rows_quarantined,
        rows_read.rows_read
        = coalesce(staged.rows_staged, 0) + coalesce(quarantined.rows_quarantined, 0) as is_reconciled
    from rows_read
    left join staged on rows_read.extract_name = staged.extract_name
    left join quarantined on rows_read.extract_name = quarantined.extract_name
)

select * from final
