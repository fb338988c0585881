{#-
    Runs at the start of every dbt invocation (on-run-start), before any model is built.
    For every declared extract (declared_extracts, macros/extracts/extract_declaration.sql), the
    Python preflight (health_equity/engine/preflight.py, registered in DuckDB as health_equity_preflight
    by the profile's plugin) reads the file once (hashing it on the way, for provenance) and
    checks, driven by the source YAML:
      - the file exists (an absent file is fine only for a source with meta: {optional: true}),
        in the format var raw_format reads (a file found in the other format is named, with the
        setting that reads it);
      - its content is what its name says: no gzip, zip or Parquet content under a .csv name;
      - the header: every declared column is there (matched by name, so extra columns such as the
        39th column of older CMS releases are fine), and no two columns share a name or differ
        only in case or spaces;
      - every line has as many fields as the header, every quoted field is closed, the text is
        UTF-8 (so a truncated file is caught);
      - it has at least one data row, unless the source is optional.
    Every problem names the extract, the file and the line or column, never a value from a row.
    All problems are collected and the run stops with them. On the OMOP input (var asthma_input)
    the asthma extracts are models, not files: check_omop_input (macros/omop/omop_input.sql)
    checks the folder.
    Set var `validate_sources: false` to skip.
-#}
{% macro validate_sources() %}
    {%- if execute and var('validate_sources', true) and flags.WHICH in ('build', 'run', 'test') -%}
        {%- set problems = [] -%}
        {#- An extract read from its OMOP stand-in model has no file of its own to check. -#}
        {%- for e in declared_extracts() if not e.omop_model -%}
            {%- set checked = run_query(
                "select health_equity_preflight(" ~ sql_string(e.source_name ~ '.' ~ e.table_name) ~ ", "
                ~ sql_string(e.path) ~ ", " ~ sql_string(tojson(e.columns)) ~ ", "
                ~ ('true' if e.optional else 'false') ~ ", " ~ sql_string(e.path_var) ~ ", "
                ~ sql_string(e.format if e.formats | length > 1 else '') ~ ")"
            ).columns[0].values()[0] -%}
            {%- do problems.extend(fromjson(checked)) -%}
        {%- endfor -%}
        {%- if problems -%}
            {{ exceptions.raise_compiler_error("Bad input:\n  - " ~ problems | join("\n  - ")) }}
        {%- endif -%}
    {%- endif -%}
    select 1 as sources_validated
{% endmacro %}

{#-
    Runs first at the start of every dbt invocation (on-run-start): a var given with --vars that
    dbt_project.yml does not declare stops the run, naming it and the nearest declared var
    (health_equity.engine.preflight.unknown_vars, registered by the profile's plugin as
    health_equity_unknown_vars). dbt itself ignores an unknown var, so a typo such as
    `--vars '{raw_dri: /data}'` would otherwise build on the default synthetic data and say nothing.
-#}
{% macro validate_vars() %}
    {%- if execute -%}
        {%- set given = invocation_args_dict.get('vars') or {} -%}
        {%- if given is string -%}{%- set given = fromyaml(given) or {} -%}{%- endif -%}
        {%- if given -%}
            {%- set problems = fromjson(run_query(
                "select health_equity_unknown_vars(" ~ sql_string(tojson(given.keys() | list)) ~ ", "
                ~ sql_string(invocation_args_dict.get('project_dir') or '.') ~ ")"
            ).columns[0].values()[0]) -%}
            {%- if problems -%}
                {{ exceptions.raise_compiler_error("Unknown setting:\n  - " ~ problems | join("\n  - ")) }}
            {%- endif -%}
        {%- endif -%}
    {%- endif -%}
    select 1 as vars_validated
{% endmacro %}
