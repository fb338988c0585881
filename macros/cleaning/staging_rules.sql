{#- What the asthma base models share, so each states only what is its own: the row-number
    columns, the patient's identifier and pseudonymous key, the join to the clean register, and the
    quarantine rules every patient event follows. -#}

{#- The columns numbered_source adds (row_reliability.sql), carried into `cleaned`. -#}
{% macro numbered_columns() -%}
    source_row_number,
    rows_with_key,
    identical_rows,
    identical_copy
{%- endmacro %}

{#- The extract's patient identifier, cleaned; registration_columns adds the salted key that
    replaces it downstream. -#}
{% macro patient_columns() -%}
    {{ clean_text('patient_id') }} as patient_id
{%- endmacro %}

{#- Body of the `registered` CTE: the patients on the clean register, with their pseudonymous key
    and the dates an event is checked against. -#}
{% macro registered_patients() -%}
    select
        patient_id,
        patient_key,
        date_of_birth,
        death_date
    from {{ ref('base_asthma__patients') }}
    where quarantine_reason is null
{%- endmacro %}

{#- Columns of `checked` from the left join to `registered`. The salted key is hashed once per
    patient (in base_asthma__patients) and joined; only an event of a patient not on the clean
    register (quarantined, so rare) hashes its own identifier, to the same key. -#}
{% macro registration_columns() -%}
    coalesce(registered.patient_key, {{ pseudonymise('cleaned.patient_id') }}) as patient_key,
    registered.patient_id is not null as is_registered,
    registered.date_of_birth as patient_date_of_birth,
    registered.death_date as patient_death_date
{%- endmacro %}

{#- The first reasons of every base model: no key, then the duplicate rules. -#}
{% macro key_reasons(key) -%}
    when {{ key }} is null then 'null key: {{ key }}'
    {{ duplicate_reason(key) }}
{%- endmacro %}

{#- The quarantine reason of a patient event (a row with its own key, a patient and dates): the
    key rules, no patient, each date missing, the first date outside the study window, then the
    extract's own rules (the call block), then the first date before the patient's birth or after
    their death, and last a patient not on the clean register. The first that applies wins. -#}
{% macro patient_event_reason(key, date_columns) -%}
    {%- set first_date = date_columns[0] -%}
    case
        {{ key_reasons(key) }}
        when patient_id is null then 'null key: patient_id'
        {%- for col in date_columns %}
        when {{ col }} is null then 'missing or unparseable {{ col }}'
        {%- endfor %}
        when {{ first_date }} not between date '{{ var("study_start") }}' and date '{{ var("study_end") }}'
            then 'date outside study window: {{ first_date }}'
        {{ caller() }}
        when {{ first_date }} < patient_date_of_birth
            then {{ sql_string("implausible date: " ~ first_date ~ " before the patient's birth") }}
        when {{ first_date }} > patient_death_date
            then {{ sql_string("implausible date: " ~ first_date ~ " after the patient's death") }}
        when not is_registered then 'patient not on the clean register'
    end
{%- endmacro %}

{#- The key rules of a file whose rows are not numbered (the CMS files): each key column missing,
    then the duplicate rules every extract shares (duplicate_reason). `columns` maps each key
    column to its name in the file. -#}
{% macro unique_key_reasons(columns) -%}
    {%- for column, label in columns.items() %}
    when {{ column }} is null then 'null key: {{ label }}'
    {%- endfor %}
    {{ duplicate_reason(columns.values() | join(" x ")) }}
{%- endmacro %}

{#- identical_rows and identical_copy (see numbered_source) for a file whose rows are not numbered:
    two windows over the whole raw row `alias`. Copies are byte-identical, so which one counts as
    the first cannot change a value downstream; they are ordered by the row itself. -#}
{% macro identical_row_counts(alias) -%}
    count(*) over (partition by {{ whole_row(alias) }}) as identical_rows,
    row_number() over (partition by {{ whole_row(alias) }} order by {{ whole_row(alias) }}) as identical_copy
{%- endmacro %}
