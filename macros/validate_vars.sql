{#-
    Runs first at the start of every dbt invocation (on-run-start): a var given with --vars that
    dbt_project.yml does not declare stops the run, naming it and the nearest declared var
    (health_equity.preflight.unknown_vars, registered by the profile's plugin as
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
