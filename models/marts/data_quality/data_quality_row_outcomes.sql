-- Where every raw asthma row ended, counted per extract, stage and outcome: quarantined at
-- staging (with its reason), excluded after staging by a later rule (with its reason), or used
-- in the marts. Later rules are derived here from the staged rows and each patient's own
-- observation window in int_asthma_person_time (the window asthma_patients counts events
-- in), never by changing those models. Complications and Deaths rows of a measure the
-- project does not score (not in ref_cms_complication_measures) are kept (hospital_measure_coverage
-- lists them) but excluded after staging, with that reason. Every other extract declared in the
-- sources YAML (macros/extracts/extract_declaration.sql), the other hospital ones among them: rows staged are used.
{{ depends_on_extracts() }}
-- depends_on: {{ ref('stg_cms__complications_and_deaths') }}
{#- (extract, staged model, date column, extra exclusion: (condition, reason) or none) -#}
{% set events = [
    ('gp_events', 'stg_asthma__gp_events', 'event_date',
        ('not is_asthma_visit', "'excluded after staging: not an asthma consultation or review (' || concept_group || ')'")),
    ('prescriptions', 'stg_asthma__prescriptions', 'issue_date', none),
    ('outpatient_appointments', 'stg_asthma__outpatient_appointments', 'appointment_date', none),
    ('hospital_admissions', 'stg_asthma__hospital_admissions', 'admission_date', none),
] %}
{#- The Complications and Deaths extract, under the name and family its declaration gives it. -#}
{% set complications = declared_extracts() | selectattr('table_name', 'equalto', 'complications_and_deaths')
    | list | first %}
{% set ruled = ['patients'] + events | map(attribute=0) | list + ([complications.name] if complications else []) %}
{% set outside = sql_string("excluded after staging: dated outside the patient's observation period") %}
with

person_time as (
    select
        patient_key,
        observation_start_date,
        observation_end_date
    from {{ ref('int_asthma_person_time') }}
),

published_patients as (
    select patient_key from {{ ref('asthma_patients') }}
),

quarantined as (
    {{ union_families('quarantine', ['extract_name', 'quarantine_reason']) }}
),

staged_outcomes as (
    {%- if complications %}
        select
            {{ sql_string(complications.family) }} as extract_family,
            {{ sql_string(complications.name) }} as extract_name,
            case
                when not staged.is_known_measure
                    then 'excluded after staging: measure not in ref_cms_complication_measures (kept, not scored)'
                else 'used'
            end as outcome
        from {{ ref('stg_cms__complications_and_deaths') }} as staged
        union all
    {%- endif %}
    select
        'asthma' as extract_family,
        'patients' as extract_name,
        case
            when published_patients.patient_key is null
                then 'excluded after staging: not published in asthma_patients'
            else 'used'
        end as outcome
    from {{ ref('stg_asthma__patients') }} as patients
    left join published_patients on patients.patient_key = published_patients.patient_key
    {%- for extract, model, date_col, extra in events %}
        union all
        select
            'asthma' as extract_family,
            '{{ extract }}' as extract_name,
            case
                {%- if extra %}
                    when {{ extra[0] }} then {{ extra[1] }}
                {%- endif %}
                when person_time.patient_key is null
                    then 'excluded after staging: patient has no observation period'
                when
                    staged.{{ date_col }} not between person_time.observation_start_date
                    and person_time.observation_end_date
                    then {{ outside }}
                else 'used'
            end as outcome
        from {{ ref(model) }} as staged
        left join person_time on staged.patient_key = person_time.patient_key
    {%- endfor %}
),

used_as_staged as (
    {{ extract_staged_rows(declared_extracts() | rejectattr('name', 'in', ruled) | list) }}
),

outcomes as (
    select
        extract_family,
        extract_name,
        'quarantined at staging' as pipeline_stage,
        quarantine_reason as outcome
    from quarantined
    union all
    select
        extract_family,
        extract_name,
        case when outcome = 'used' then 'used' else 'excluded after staging' end as pipeline_stage,
        outcome
    from staged_outcomes
    union all
    select
        extract_family,
        extract_name,
        'used' as pipeline_stage,
        'used' as outcome
    from used_as_staged
)

select
    extract_family,
    extract_name,
    pipeline_stage,
    outcome,
    count(*) as row_count
from outcomes
group by extract_family, extract_name, pipeline_stage, outcome
