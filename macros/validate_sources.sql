{#-
    Runs at the start of every dbt invocation (on-run-start), before any model is built.
    For every source that is read from a file (meta.external_location), checks that the file
    exists and is readable and that every column declared in the source YAML is in its header.
    A problem stops the run with a message naming the extract, the file and the column.
    Columns are matched by name, never by position, so extra columns (such as the 39th column of
    older CMS releases) are fine. Set the var `validate_sources: false` to skip.
-#}
{% macro validate_sources() %}
    {%- if execute and var('validate_sources', true) and flags.WHICH in ('build', 'run', 'test') -%}
        {%- set problems = [] -%}
        {%- for src in graph.sources.values() if src.meta.get('external_location') -%}
            {%- set path = src.meta.get('extract_path', src.meta.external_location) -%}
            {%- set label = src.source_name ~ '.' ~ src.name -%}
            {%- set found = run_query("select count(*) from glob('" ~ path ~ "')").columns[0].values()[0] -%}
            {%- if found == 0 and src.meta.get('optional') -%}
                {#- An optional extract may be absent: its models build with no rows and say why. -#}
            {%- elif found == 0 -%}
                {%- do problems.append("extract " ~ label ~ ": file not found: " ~ path
                    ~ " (set var raw_dir, or " ~ src.name ~ "_path, to the folder or file)") -%}
            {%- else -%}
                {%- set described = run_query("describe select * from " ~ src.meta.external_location) -%}
                {%- set actual = described.columns[0].values() | list -%}
                {%- set missing = [] -%}
                {%- for col in src.columns.keys() if col not in actual -%}
                    {%- do missing.append(col) -%}
                {%- endfor -%}
                {%- for col in missing -%}
                    {%- do problems.append("extract " ~ label ~ " (" ~ path ~ "): missing column '" ~ col
                        ~ "'; the file has: " ~ actual | join(', ')) -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if problems -%}
            {{ exceptions.raise_compiler_error("Bad input:\n  - " ~ problems | join("\n  - ")) }}
        {%- endif -%}
    {%- endif -%}
    select 1 as sources_validated
{% endmacro %}
