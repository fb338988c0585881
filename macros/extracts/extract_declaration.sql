{#-
    The raw extracts, declared once: each is a table of a source in the sources YAML whose `meta`
    (the source's meta with the table's added to it) says
      file           the file's stem in var raw_dir, and the extract's name in the data-quality marts;
      path           the file read: the path var, else raw_dir/<file>.<format> (Jinja in the YAML,
                     rendered by dbt);
      external_location  how DuckDB reads it (dbt-duckdb's own source meta: source() renders as
                     read_csv('{path}', ...) or read_parquet('{path}'));
      formats        the formats its file may come in ([csv, parquet]: var raw_format says which;
                     [csv]: always .csv);
      path_var       the var in `path` that points this one extract at another file (default
                     <table>_path; test_extract_declaration checks the two agree);
      key            the base model's key column (a list for a compound key);
      optional       true when the file may be absent or header-only;
      numbered_rows  true when the base model numbers its rows (source_row_number).
    Everything else is derived from it: the spec (here), the structural preflight
    (validate_sources, preflight.sql), provenance and origins (file_origins.sql), the quarantine
    and row-count models (extract_row_outcomes.sql), reconciliation and row outcomes.

    One fact lives outside the YAML, once: extract_families() below, each family (asthma,
    hospitals) and its base models. dbt learns a model's parents while parsing, when the sources'
    meta is not yet readable from Jinja (`graph` is empty until execution), so the models built
    from the declaration take their parents from that list (depends_on_extracts). An extract's
    base model (the model holding every row of its file, cleaned, with its quarantine_reason) and
    its family (whose stg_<family>__quarantine and stg_<family>__extract_row_counts list it) are
    not declared again: extract_base() finds, in dbt's graph, the listed model that reads the
    extract (its source, or on the OMOP input its stand-in model), and the list it is in. A
    declared extract that no listed model reads stops the build naming it and what to add.
    This Jinja is the one reader of the declaration; Python tests ask it through dbt
    (tests/python/dbt_declaration.py), and the generator knows what it writes without it.
-#}

{#- Each family and its base models (dbt's parse-time dependencies; see above). -#}
{% macro extract_families() -%}
    {{- return({
        'asthma': [
            'base_asthma__patients', 'base_asthma__gp_practices', 'base_asthma__gp_events',
            'base_asthma__prescriptions', 'base_asthma__hospital_admissions',
            'base_asthma__outpatient_appointments',
        ],
        'hospitals': [
            'base_cms__hospitals', 'base_cms__complications_and_deaths', 'base_acs__median_household_income',
        ],
    }) -}}
{%- endmacro %}

{#- Parse-time dependencies on the base models of one family (or all): a model built from the
    declaration calls this first, so dbt builds it after them. -#}
{% macro depends_on_extracts(family=none) -%}
    {%- for name, models in extract_families().items() if family is none or name == family -%}
        {%- for model in models %}
-- depends_on: {{ ref(model) }}
        {%- endfor -%}
        {#- On the OMOP input the asthma extracts are read from their stand-in models. -#}
        {%- if name == 'asthma' and omop_input() -%}
            {%- for model in models %}
-- depends_on: {{ ref(model | replace('base_asthma__', 'stg_omop__')) }}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor %}
{%- endmacro %}

{% macro extract_node(source_name, table_name) -%}
    {%- for node in graph.sources.values() if node.source_name == source_name and node.name == table_name -%}
        {{- return(node) -}}
    {%- endfor -%}
    {{- exceptions.raise_compiler_error("no source " ~ source_name ~ "." ~ table_name) -}}
{%- endmacro %}

{#- An asthma extract's rows: source('asthma_raw', <table>), or on the OMOP input (var
    asthma_input: omop) the model that stands in for it (the OMOP rows in the extract's layout,
    models/staging/omop). A model reading an asthma extract calls this instead of source(), so the
    switch is visible where it happens and dbt learns the right parent while it parses. -#}
{% macro asthma_extract(table_name) -%}
    {%- if omop_input() -%}
        {{- return(ref('stg_omop__' ~ table_name)) -}}
    {%- endif -%}
    {{- return(source('asthma_raw', table_name)) -}}
{%- endmacro %}

{#- The OMOP table an asthma extract's stand-in rows mostly come from (provenance names its
    file), and the stand-in model asthma_extract() reads instead of source('asthma_raw', ...);
    none for every other extract, and with the default input. -#}
{% macro omop_stand_in(node) -%}
    {%- if node.source_name == 'asthma_raw' and omop_input() -%}
        {%- set tables = {'patients': 'person', 'gp_practices': 'person', 'gp_events': 'visit_occurrence',
            'prescriptions': 'drug_exposure', 'hospital_admissions': 'visit_occurrence',
            'outpatient_appointments': 'visit_occurrence'} -%}
        {{- return({'model': 'stg_omop__' ~ node.name, 'table': tables[node.name]}) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}

{#- A declared extract's base model and family, from dbt's graph: the model in extract_families()
    whose parents include the extract's source, or on the OMOP input its stand-in model. No such
    model, or more than one, stops the build naming the extract and what to change. -#}
{% macro extract_base(node) -%}
    {%- set stand_in = omop_stand_in(node) -%}
    {%- set read = [node.unique_id] + (['model.' ~ project_name ~ '.' ~ stand_in.model] if stand_in else []) -%}
    {%- set found = [] -%}
    {%- for family, models in extract_families().items() -%}
        {%- for model in models -%}
            {%- set parent = graph.nodes.get('model.' ~ project_name ~ '.' ~ model) -%}
            {%- if parent and parent.depends_on.nodes | select('in', read) | list -%}
                {%- do found.append({'model': model, 'family': family}) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- if found | length == 1 -%}
        {{- return(found[0]) -}}
    {%- endif -%}
    {%- set label = "extract " ~ node.source_name ~ "." ~ node.name -%}
    {%- set where = " in extract_families() (macros/extracts/extract_declaration.sql)" -%}
    {%- if found -%}
        {{- exceptions.raise_compiler_error(label ~ ": more than one base model" ~ where ~ " reads it ("
            ~ found | map(attribute='model') | join(', ') ~ "): one model holds an extract's rows") -}}
    {%- endif -%}
    {%- set readers = [] -%}
    {%- for other in graph.nodes.values() if other.resource_type == 'model' -%}
        {%- if other.depends_on.nodes | select('in', read) | list -%}
            {%- do readers.append("'" ~ other.name ~ "'") -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set model = readers | join(' or ') if readers else "the model that reads source('" ~ node.source_name
        ~ "', '" ~ node.name ~ "')" -%}
    {{- exceptions.raise_compiler_error(label ~ ": no base model" ~ where ~ " reads it: add " ~ model
        ~ " to its family's list there (dbt learns a model's parents while parsing, before the sources can be read)") -}}
{%- endmacro %}

{#- The format the extracts that may come as CSV or Parquet are read in: var raw_format, csv or
    parquet, an explicit setting (the Makefile's data is the generator's default, Parquet; a folder
    of supplied CSV files says raw_format: csv). The preflight names a file found in the other
    format. -#}
{% macro raw_format() -%}
    {%- set wanted = var('raw_format') -%}
    {%- if wanted not in ('csv', 'parquet') -%}
        {{- exceptions.raise_compiler_error("var raw_format is '" ~ wanted ~ "': use csv or parquet") -}}
    {%- endif -%}
    {{- return(wanted) -}}
{%- endmacro %}

{#- One declared extract, as its YAML declares it (dbt has rendered the path from the vars). On
    the OMOP input an asthma extract is read from its stand-in model, and its path is the OMOP
    file its rows mostly come from. -#}
{% macro extract_spec(node) -%}
    {%- set meta = node.meta -%}
    {%- set formats = meta.get('formats', ['csv']) -%}
    {%- set format = raw_format() if raw_format() in formats else formats[0] -%}
    {%- set stand_in = omop_stand_in(node) -%}
    {%- if stand_in -%}
        {%- set path = omop_file(stand_in.table) or var('omop_dir') -%}
    {%- else -%}
        {%- set path = meta.path -%}
    {%- endif -%}
    {%- set key = meta.get('key', []) -%}
    {%- set base = extract_base(node) -%}
    {{- return({
        'source_name': node.source_name,
        'table_name': node.name,
        'name': meta.file,
        'family': base.family,
        'path': path,
        'path_var': meta.get('path_var', node.name ~ '_path'),
        'format': format,
        'formats': formats,
        'optional': meta.get('optional', false),
        'key': [key] if key is string else key,
        'base_model': base.model,
        'numbered_rows': meta.get('numbered_rows', false),
        'columns': node.columns.keys() | list,
        'omop_model': stand_in.model if stand_in else none,
    }) -}}
{%- endmacro %}

{#- Every declared extract (of one family), sorted; empty while dbt parses. -#}
{% macro declared_extracts(family=none) -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.meta.get('file') -%}
            {%- set spec = extract_spec(node) -%}
            {%- if family is none or spec.family == family -%}
                {%- do found.append(spec) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(found | sort(attribute='source_name,table_name')) -}}
{%- endmacro %}

{#-
    read_extract(source_name, table_name) selects every row of the source. For an optional
    extract whose file is absent it selects no rows, with the columns declared in the YAML (all
    text), so every model downstream still builds and can say why it has nothing. A header-only
    file is read as it is (DuckDB reads the header and no rows).
-#}
{% macro read_extract(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
    {#- A unit test's mocked source is a CTE: read it as it is. -#}
    {%- set mocked = '__dbt__cte__' in (relation | string) -%}
    {%- set node = extract_node(source_name, table_name) if execute and not mocked else none -%}
    {%- set spec = extract_spec(node) if node and node.meta.get('file') else none -%}
    {%- if spec and spec.optional and not extract_file_exists(spec.path) -%}
        select
        {%- for col in spec.columns %}
            cast(null as string) as {{ adapter.quote(col) }}{{ "," if not loop.last }}
        {%- endfor %}
        where false
    {%- else -%}
        select * from {{ relation }}
    {%- endif -%}
{%- endmacro %}
