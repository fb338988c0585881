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
