-- Per extract: rows read from the file, rows staged and rows quarantined; and, at the end of the
-- pipeline, rows used in the marts and rows excluded after staging by a later rule (from
-- data_quality_row_outcomes). is_reconciled: rows read = used + quarantined + excluded after
-- staging, so a row lost in any later join fails the build. Nothing is dropped silently.
{% set families = {
    'asthma': {
        'counts': 'stg_asthma__extract_row_counts', 'quarantine': 'stg_asthma__quarantine',
        'staged': {
            'patients': 'base_asthma__patients', 'gp_practices': 'base_asthma__gp_practices',
            'gp_events': 'base_asthma__gp_events', 'prescriptions': 'base_asthma__prescriptions',
            'hospital_admissions': 'base_asthma__hospital_admissions',
            'outpatient_appointments': 'base_asthma__outpatient_appointments',
        },
    },
    'hospitals': {
        'counts': 'stg_hospitals__extract_row_counts', 'quarantine': 'stg_hospitals__quarantine',
        'staged': {
            'Hospital_General_Information': 'base_cms__hospitals',
            'Complications_and_Deaths-Hospital': 'base_cms__complications_and_deaths',
            'ACSDT5Y.B19013-Data': 'base_acs__median_household_income',
        },
    },
} %}
with

rows_read as (
    {% for family, spec in families.items() %}
        select
            '{{ family }}' as extract_family,
            extract_name,
            file_path,
            rows_read
        from {{ ref(spec.counts) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

quarantined as (
    {% for family, spec in families.items() %}
        select
            extract_name,
            count(*) as rows_quarantined
        from {{ ref(spec.quarantine) }}
        group by extract_name
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

staged as (
    {% for family, spec in families.items() %}
        {% set outer_last = loop.last %}
        {% for extract, model in spec.staged.items() %}
            select
                '{{ extract }}' as extract_name,
                count(*) as rows_staged
            from {{ ref(model) }}
            where quarantine_reason is null
            {% if not (outer_last and loop.last) %}union all{% endif %}
        {% endfor %}
    {% endfor %}
),

outcomes as (
    select
        extract_name,
        cast(coalesce(sum(row_count) filter (where pipeline_stage = 'used'), 0) as bigint) as rows_used,
        cast(coalesce(
            sum(row_count) filter (where pipeline_stage = 'excluded after staging'), 0
        ) as bigint) as rows_excluded_after_staging
    from {{ ref('data_quality_row_outcomes') }}
    group by extract_name
),

final as (
    select
        rows_read.extract_family,
        rows_read.extract_name,
        rows_read.file_path,
        rows_read.rows_read,
        coalesce(staged.rows_staged, 0) as rows_staged,
        coalesce(quarantined.rows_quarantined, 0) as rows_quarantined,
        coalesce(outcomes.rows_excluded_after_staging, 0) as rows_excluded_after_staging,
        coalesce(outcomes.rows_used, 0) as rows_used,
        rows_read.rows_read
        = coalesce(staged.rows_staged, 0) + coalesce(quarantined.rows_quarantined, 0) as is_staging_reconciled,
        rows_read.rows_read
        = coalesce(outcomes.rows_used, 0) + coalesce(quarantined.rows_quarantined, 0)
        + coalesce(outcomes.rows_excluded_after_staging, 0) as is_reconciled
    from rows_read
    left join staged on rows_read.extract_name = staged.extract_name
    left join quarantined on rows_read.extract_name = quarantined.extract_name
    left join outcomes on rows_read.extract_name = outcomes.extract_name
)

select * from final
