{#-
    The OMOP CDM input of the asthma half (var asthma_input: omop). The OMOP tables are read from
    the folder var omop_dir, one file per table: <table>.csv, <TABLE>.csv, <table>.parquet or
    <TABLE>.parquet, the first of these that exists. CSV is read with its header and every column
    as text; Parquet as it is. Columns are matched by name in any case, and a column the CDM
    renamed between 5.3 and 5.4 is read under either name (omop_select). The models in
    models/staging/omop turn these tables into rows in the layout of each asthma extract, and
    the base models read those models instead of the files (asthma_extract,
    macros/extracts/extract_declaration.sql), so every asthma model, test and mart downstream is
    the same on both inputs. See the doc block omop_mapping.
-#}

{#- The OMOP tables read: the first five must be there; the rest may be absent. -#}
{% macro omop_required_tables() -%}
    {{- return(['person', 'observation_period', 'visit_occurrence', 'condition_occurrence', 'drug_exposure']) -}}
{%- endmacro %}

{% macro omop_optional_tables() -%}
    {{- return(['death', 'location', 'concept', 'concept_ancestor']) -}}
{%- endmacro %}

{% macro omop_input() -%}
    {{- return(var('asthma_input') == 'omop') -}}
{%- endmacro %}

{#- The path of an OMOP table's file in omop_dir, or none when there is none (and while dbt
    parses, when nothing is read). -#}
{% macro omop_file(table) -%}
    {%- if not execute -%}{{- return(none) -}}{%- endif -%}
    {%- set folder = var('omop_dir') | string -%}
    {%- for name in [table, table | upper] -%}
        {%- for ext in ['csv', 'parquet'] -%}
            {%- set path = folder.rstrip('/') ~ '/' ~ name ~ '.' ~ ext -%}
            {%- if extract_file_exists(path) -%}{{- return(path) -}}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(none) -}}
{%- endmacro %}

{% macro omop_reader(path) -%}
    {%- if path.endswith('.parquet') -%}
        read_parquet({{ sql_string(path) }})
    {%- else -%}
        read_csv({{ sql_string(path) }}, header = true, all_varchar = true)
    {%- endif -%}
{%- endmacro %}

{#- The column names of a file, lower-cased. -#}
{% macro omop_file_columns(path) -%}
    {%- set found = run_query("select column_name from (describe select * from " ~ omop_reader(path) ~ ")") -%}
    {{- return(found.columns[0].values() | map('lower') | list) -}}
{%- endmacro %}

{#- Every row of an OMOP table with its number in the file (omop_row_number, 1 = first data row)
    and the given columns as cleaned text. `columns` maps each output name to the column's name in
    the file, or to a list of names (CDM 5.3 and 5.4 spellings): the first the file has is read,
    and a column the file lacks is NULL. A table whose file is absent has no rows; the models read
    only tables that may be absent this way (the required ones stop the run first, in
    check_omop_input). -#}
{% macro omop_select(table, columns) -%}
    {%- set path = omop_file(table) -%}
    {%- if path is none %}
        select
            cast(null as bigint) as omop_row_number,
            {%- for name in columns %}
            cast(null as string) as {{ name }}{{ ',' if not loop.last }}
            {%- endfor %}
        where false
    {%- else -%}
        {%- set present = omop_file_columns(path) %}
        select
            row_number() over () as omop_row_number,
            {%- for name, wanted in columns.items() %}
                {%- set options = [wanted] if wanted is string else wanted -%}
                {%- set found = options | select('in', present) | list %}
            {{ clean_text(found[0]) if found else 'cast(null as string)' }} as {{ name }}{{ ',' if not loop.last }}
            {%- endfor %}
        from {{ omop_reader(path) }}
    {%- endif -%}
{%- endmacro %}

{#- The number of data rows in an OMOP table's file (0 when it is absent), and its path. -#}
{% macro omop_row_count(table) -%}
    {%- set path = omop_file(table) -%}
    {%- if path is none %}
        select {{ sql_string(table) }} as omop_table, cast(null as string) as file_path, cast(0 as bigint) as rows_read
    {%- else %}
        select {{ sql_string(table) }} as omop_table, {{ sql_string(path) }} as file_path, count(*) as rows_read
        from {{ omop_reader(path) }}
    {%- endif -%}
{%- endmacro %}

{#- The date an age is taken on: `on_date`, or, with var omop_age_date last_observed on the OMOP
    input, the earlier of it and the end of registration or death. A source that shifts each
    patient's dates by their own amount (MIMIC does) keeps ages within a patient but not across a
    calendar: only an age on a date the patient was observed means anything there. The default
    (followup_start) is the extracts' rule, so a generated world gives the same ages on both
    inputs. -#}
{% macro age_reference_date(on_date, registration_end, death) -%}
    {%- if omop_input() and var('omop_age_date') == 'last_observed' -%}
        least({{ on_date }}, coalesce({{ registration_end }}, {{ on_date }}), coalesce({{ death }}, {{ on_date }}))
    {%- else -%}
        {{ on_date }}
    {%- endif -%}
{%- endmacro %}

{#- The IMD group of OMOP patients without deprivation for their area. -#}
{% macro omop_no_deprivation_group() -%}
    {{- return('not available: no deprivation for the area') -}}
{%- endmacro %}

{#- An OMOP id as a whole number: 64-bit and possibly negative, as real CDMs hold them. -#}
{% macro omop_id(column) -%}
    try_cast({{ column }} as bigint)
{%- endmacro %}

{#- Select-list items: each of `columns` as an OMOP id (omop_id), under its own name. -#}
{% macro omop_ids(columns) -%}
    {%- for column in columns %}
        {{ omop_id(column) }} as {{ column }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

{#- A CDM date: the date column, else the date part of the datetime column. -#}
{% macro omop_date(date_column, datetime_column=none) -%}
    {%- if datetime_column -%}
        coalesce({{ try_iso_date(date_column) }}, {{ try_iso_date('left(' ~ datetime_column ~ ', 10)') }})
    {%- else -%}
        {{ try_iso_date(date_column) }}
    {%- endif -%}
{%- endmacro %}

{#-
    Runs at the start of every build (on-run-start). With asthma_input omop: omop_dir is set and
    holds every required table, and the study window overlaps the data. OMOP sources often shift
    dates (MIMIC's lie in the 22nd century), and a window that misses them would build an empty
    analysis with exit 0; instead the run stops, saying what range the observation periods cover
    and which vars to set (a window anchored on the latest observation period end).
-#}
{% macro check_omop_input() %}
    {%- if execute and omop_input() and flags.WHICH in ('build', 'run') -%}
        {%- if not var('omop_dir') -%}
            {{ exceptions.raise_compiler_error(
                "var asthma_input is omop but var omop_dir is not set: set it to the folder holding the OMOP CDM tables"
                ~ " (person, observation_period, visit_occurrence, condition_occurrence, drug_exposure as .csv or .parquet)") }}
        {%- endif -%}
        {%- set missing = [] -%}
        {%- for table in omop_required_tables() if omop_file(table) is none -%}
            {%- do missing.append(table) -%}
        {%- endfor -%}
        {%- if missing -%}
            {{ exceptions.raise_compiler_error(
                "OMOP input (var omop_dir = " ~ var('omop_dir') ~ "): no file for table(s) " ~ missing | join(', ')
                ~ " (looked for <table>.csv, <TABLE>.csv, <table>.parquet, <TABLE>.parquet)") }}
        {%- endif -%}
        {%- set periods = omop_file('observation_period') -%}
        {%- set found = run_query(
            "select cast(min(start_date) as string), cast(max(end_date) as string), "
            ~ "cast(max(end_date) - interval 1 year + interval 1 day as date)::string, "
            ~ "count(*) filter (where start_date <= date '" ~ var('study_end') ~ "' and end_date >= date '"
            ~ var('study_start') ~ "') from (select "
            ~ omop_date('observation_period_start_date') ~ " as start_date, "
            ~ omop_date('observation_period_end_date') ~ " as end_date from " ~ omop_reader(periods) ~ ")"
        ).rows[0] -%}
        {%- set message = "OMOP observation periods in " ~ var('omop_dir') ~ " cover " ~ found[0] ~ " to " ~ found[1]
            ~ "; the study window (vars study_start, followup_start, study_end) is " ~ var('study_start')
            ~ " to " ~ var('study_end') -%}
        {%- if found[3] == 0 -%}
            {{ exceptions.raise_compiler_error(
                message ~ ", so no observation period overlaps it and the analysis would be empty. Set the"
                ~ " window on the data, e.g. --vars '{study_start: " ~ found[0][:4] ~ "-01-01, followup_start: "
                ~ found[2] ~ ", study_end: " ~ found[1] ~ "}' (follow-up: the year to the latest observation period end)") }}
        {%- endif -%}
        {%- if var('omop_age_date') not in ('followup_start', 'last_observed') -%}
            {{ exceptions.raise_compiler_error("var omop_age_date is '" ~ var('omop_age_date') ~ "': use followup_start or last_observed") }}
        {%- endif -%}
        {%- if var('omop_age_date') == 'followup_start' -%}
            {%- set old = run_query(
                "select count(*) from " ~ omop_reader(omop_file('person'))
                ~ " where try_cast(year_of_birth as integer) < " ~ ((var('study_end') | string)[:4] | int - 115)
            ).rows[0][0] -%}
            {%- if old > 0 -%}
                {{ exceptions.raise_compiler_error(
                    message ~ ", and " ~ old ~ " person(s) in the person table were born more than 115 years before"
                    ~ " study_end: the dates look shifted by a different amount for each patient, so ages on one calendar"
                    ~ " date mean nothing. Set --vars '{omop_age_date: last_observed}' to take each age on the date the"
                    ~ " patient was last observed") }}
            {%- endif -%}
        {%- endif -%}
        {%- do log(message ~ " (" ~ found[3] ~ " observation periods overlap it)", info=true) -%}
    {%- endif -%}
    select 1 as omop_input_checked
{% endmacro %}

{#- The rows of an OMOP base model that stg_omop__row_outcomes marks with one outcome (such as
    'used: prescriptions'), or with any of a list of them, each with its outcome: what each
    stg_omop__ model in an extract's layout is built from, so the rows it writes are exactly the
    ones the row accounting counts as used. -#}
{% macro omop_rows_with_outcome(base_model, omop_table, outcome) -%}
    {%- set wanted = [outcome] if outcome is string else outcome %}
    select
        base_rows.*,
        outcomes.outcome
    from {{ ref(base_model) }} as base_rows
    inner join {{ ref('stg_omop__row_outcomes') }} as outcomes
        on
            outcomes.omop_table = '{{ omop_table }}'
            and base_rows.omop_row_number = outcomes.omop_row_number
            and outcomes.outcome in (
                {%- for one in wanted %}{{ sql_string(one) }}{{ ', ' if not loop.last }}{% endfor -%}
            )
{%- endmacro %}

{#- The ACS median household income file the hospital half reads (source
    hospitals_raw.acs_median_household_income): {path, origin, label}. `label` names the measure
    its quintiles are, with the 5-year period when the file keeps the Census download's name
    (ACSDT5Y2020 is 2016-2020). Origin is synthetic, supplied or absent (macro file_origin); all
    three are known only when dbt executes. -#}
{% macro omop_acs_income_file() -%}
    {#- While dbt parses, and in a unit test, there are no sources to read the path from (and
        nothing is read). -#}
    {%- set known = execute and 'sources' in graph -%}
    {%- set path = extract_spec(extract_node('hospitals_raw', 'acs_median_household_income')).path if known else '' -%}
    {%- set info = file_origin(path) if known else {'exists': false} -%}
    {%- set year = modules.re.search('ACSDT5Y([0-9]{4})', path | string) -%}
    {%- set period = ' ' ~ (year.group(1) | int - 4) ~ '-' ~ year.group(1) if year else '' -%}
    {{- return({
        'path': path,
        'origin': info.origin if info.exists else 'absent',
        'label': 'ACS 5-year' ~ period ~ ' median household income quintile of the ZIP (as ZCTA)',
    }) -}}
{%- endmacro %}

{#- What the deprivation groups (imd_quintile) of this build measure, one label for the whole
    build (doc omop_deprivation): IMD 2019 quintiles on the extracts; on the OMOP input the
    quintile of the user's area lookup when var omop_area_deprivation_path is set, else the ACS
    median household income quintile of the patient's ZIP. A build never mixes the two. -#}
{% macro deprivation_measure() -%}
    {%- if not omop_input() -%}
        {{- return('IMD 2019 quintile') -}}
    {%- elif var('omop_area_deprivation_path') -%}
        {{- return('deprivation quintile of the supplied area lookup (var omop_area_deprivation_path)') -}}
    {%- else -%}
        {{- return(omop_acs_income_file().label) -}}
    {%- endif -%}
{%- endmacro %}

{#- The exclusion_reason of a row of an OMOP base model, the rules every table shares in this
    order: its key missing, its key on more than one row of the file, no person (a table with a
    person_id other than its key), each of `dates` missing or unparseable; then the table's own
    WHEN branches, given as the body of a call block when it has any. The first that applies wins. -#}
{% macro omop_exclusion_reason(key=none, dates=[], has_person=true) -%}
    case
        {%- if key %}
            when {{ key }} is null then 'null key: {{ key }}'
            when count(*) over (partition by {{ key }}) > 1 then 'duplicate key: {{ key }}'
        {%- endif %}
        {%- if has_person and key != 'person_id' %}
            when person_id is null then 'null key: person_id'
        {%- endif %}
        {%- for date_column in dates %}
            when {{ date_column }} is null then 'missing or unparseable {{ date_column }}'
        {%- endfor %}
        {{ caller() if caller is defined }}
    end
{%- endmacro %}

{#- The outcome of every row of one OMOP table in stg_omop__row_outcomes, as a query: the table's
    name, the row's number and its outcome. The reasons every table shares come first (the base
    model's own exclusion, then a person not on the register, then an unmapped concept), then the
    table's own rules, given as the call block's body. The base model's rows are read under alias,
    joined to the CTE `register` on person_id unless the table has no person. -#}
{% macro omop_outcome_rows(omop_table, alias, register='required', concept_column=none) -%}
    select
        '{{ omop_table }}' as omop_table,
        {{ alias }}.omop_row_number,
        case
            when {{ alias }}.exclusion_reason is not null then {{ alias }}.exclusion_reason
            {%- if register == 'required' %}
                when register.person_id is null
                    then 'person not on the asthma register (no asthma condition inside an observation period)'
            {%- endif %}
            {%- if concept_column %}
                when {{ alias }}.{{ concept_column }} = 0 then 'unmapped concept (concept_id 0)'
            {%- endif %}
            {{ caller() }}
        end as outcome
    from {{ alias }}
    {%- if register != 'none' %}
        left join register on {{ alias }}.person_id = register.person_id
    {%- endif %}
{%- endmacro %}
