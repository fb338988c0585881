{#-
    Where every extract came from. A file is `synthetic` when a manifest.json beside it (written
    by `python -m generators`) lists the file's SHA-256, and `supplied` otherwise (a real extract
    put in its place). check_extract_origins runs at the start of every build: when one analysis
    (one source, such as hospitals_raw) reads synthetic and supplied files together, the run stops
    naming both files, unless var allow_mixed_origins is true. data_provenance lists them all.
-#}

{#- {path, exists, size, sha256, last_modified, origin} of one file, by a query run now. -#}
{% macro file_origin(path) -%}
    {%- set info = {'path': path} -%}
    {%- do info.update(file_info(path)) -%}
    {{- return(info) -}}
{%- endmacro %}

{% macro check_extract_origins() %}
    {%- if execute and flags.WHICH in ('build', 'run') and not var('allow_mixed_origins') -%}
        {%- set by_source = {} -%}
        {%- for f in declared_extracts() -%}
            {%- set info = file_origin(f.path) -%}
            {%- if info.exists -%}
                {%- do by_source.setdefault(f.source_name, []).append((info.origin, f.path_var, f.path)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- for source_name, files in by_source.items() -%}
            {%- set synthetic = files | selectattr(0, 'equalto', 'synthetic') | list -%}
            {%- set supplied = files | selectattr(0, 'equalto', 'supplied') | list -%}
            {%- if synthetic and supplied -%}
                {{ exceptions.raise_compiler_error(
                    "Mixed data origins in " ~ source_name ~ ": supplied (real) file(s) "
                    ~ supplied | map(attribute=2) | join(', ')
                    ~ " would be analysed together with synthetic (generated) file(s) "
                    ~ synthetic | map(attribute=2) | join(', ')
                    ~ ". Point the path var of each synthetic file (" ~ synthetic | map(attribute=1) | join(', ')
                    ~ ") at the real file"
                    ~ " (an optional extract may be left out by pointing its var at a path that does not exist),"
                    ~ " or set var allow_mixed_origins: true to analyse them together on purpose"
                    ~ " (the report then shows a banner).") }}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as extract_origins_checked
{% endmacro %}

{#- The pseudonymous patient_key is a salted hash of the extract's patient id. The demo salt
    (the default of var pseudonym_salt in dbt_project.yml) is public: with it, anyone who knows a
    patient's id in the extract can compute their key and find their row. So a build whose patients
    extract is supplied (not generated: see above) stops here, before staging, unless a secret
    salt is set. The salt itself is never printed. -#}
{% macro check_pseudonym_salt() %}
    {%- set demo_salt = 'health-equity-demo-salt' -%}
    {%- if execute and flags.WHICH in ('build', 'run') and var('pseudonym_salt') == demo_salt -%}
        {#- The patients come from the OMOP person table on the OMOP input (a clinical database by
            nature: supplied unless a generator's manifest beside it lists it). -#}
        {%- if omop_input() -%}
            {%- set what, path = "The OMOP person table", omop_file('person') -%}
        {%- else -%}
            {%- set what, path = "The patients extract", extract_spec(extract_node('asthma_raw', 'patients')).path -%}
        {%- endif -%}
        {%- set info = file_origin(path) if path else {'exists': false} -%}
        {%- if info.exists and info.origin == 'supplied' -%}
            {{ exceptions.raise_compiler_error(
                what ~ " " ~ path ~ " is supplied (python -m generators did not write it),"
                ~ " and the pseudonymous patient_key would be salted with the public demo salt: anyone who"
                ~ " knows a patient's id in the extract could compute their key. Nothing was built."
                ~ " Set a secret salt in the environment variable HEALTH_EQUITY_SALT before the build, for example"
                ~ " export HEALTH_EQUITY_SALT=\"$(python3 -c 'import secrets; print(secrets.token_hex(32))')\","
                ~ " keep it secret and keep it the same between builds (the same salt gives the same keys)."
                ~ " A salt given with --vars would be written to dbt's logs: prefer the environment variable.") }}
        {%- endif -%}
    {%- endif -%}
    select 1 as pseudonym_salt_checked
{% endmacro %}
