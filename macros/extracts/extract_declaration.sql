{#-
    The raw extracts, declared once: each is a table of a source in the sources YAML whose `meta`
    (the source's meta with the table's added to it) says
      file           the file's stem in var raw_dir, and the extract's name in the data-quality marts;
      formats        the formats its file may come in ([csv, parquet]: the file in raw_dir decides,
                     or var raw_format, see extract_format; [csv]: always .csv);
      path_var       the var that points this one extract at another file (default <table>_path);
      key            the base model's key column (a list for a compound key);
      base_model     the model holding every row of the file, cleaned, with its quarantine_reason;
      optional       true when the file may be absent or header-only;
      extract_family the family (asthma, hospitals) whose stg_<family>__quarantine and
                     stg_<family>__extract_row_counts list it;
      numbered_rows  true when the base model numbers its rows (source_row_number).
    Everything else is derived from it: the path and the reader (here), the structural preflight
    (validate_sources, preflight.sql), provenance and origins (file_origins.sql), the quarantine
    and row-count models (extract_row_outcomes.sql), reconciliation and row outcomes.

    One thing dbt cannot derive: it learns a model's parents while parsing, before it reads any
    YAML, so extract_families() below names each family's base models for the models built from
    the declaration. A declared extract missing there stops the build saying so.
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

{#- The model that stands in for an asthma extract when var asthma_input is omop (the OMOP rows
    in the extract's layout, models/staging/omop), and the OMOP table its rows mostly come from;
    none for every other extract, and with the default input. -#}
{% macro omop_stand_in(node) -%}
    {%- if node.meta.get('extract_family') == 'asthma' and omop_input() -%}
        {%- set tables = {'patients': 'person', 'gp_practices': 'person', 'gp_events': 'visit_occurrence',
            'prescriptions': 'drug_exposure', 'hospital_admissions': 'visit_occurrence',
            'outpatient_appointments': 'visit_occurrence'} -%}
        {{- return({'model': 'stg_omop__' ~ node.name, 'table': tables[node.name]}) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}

{#- One declared extract, with its file path and reader worked out from the vars now. On the
    OMOP input an asthma extract is read from its stand-in model, and its path is the OMOP file
    its rows mostly come from. -#}
{% macro extract_spec(node) -%}
    {%- set meta = node.meta -%}
    {%- set formats = meta.get('formats', ['csv']) -%}
    {%- set path_var = meta.get('path_var', node.name ~ '_path') -%}
    {%- set stand_in = omop_stand_in(node) -%}
    {%- if stand_in -%}
        {%- set path = omop_file(stand_in.table) or var('omop_dir') -%}
        {#- Read through source(), which returns the model (a ref here would come too late for dbt
            to learn the dependency). -#}
        {%- set location = none -%}
    {%- else -%}
        {%- set path = var(path_var, '') or var('raw_dir') ~ '/' ~ meta.file ~ '.' ~ extract_format(meta.file, formats) -%}
        {%- set location = adapter.dispatch('extract_reader')(node, path, formats) -%}
    {%- endif -%}
    {%- set key = meta.get('key', []) -%}
    {{- return({
        'source_name': node.source_name,
        'table_name': node.name,
        'name': meta.file,
        'family': meta.get('extract_family'),
        'path': path,
        'path_var': path_var,
        'location': location,
        'formats': formats,
        'optional': meta.get('optional', false),
        'key': [key] if key is string else key,
        'base_model': meta.get('base_model'),
        'numbered_rows': meta.get('numbered_rows', false),
        'columns': node.columns.keys() | list,
        'omop_model': stand_in.model if stand_in else none,
    }) -}}
{%- endmacro %}

{#- The format (file extension) of an extract's file in raw_dir. Var raw_format says which:
    csv or parquet reads that format where the extract may come in it (its first format where
    not); auto, the default, reads the format whose file is in raw_dir, so the generator's Parquet
    and a folder of supplied CSV files both build with no var. Both files there is ambiguous and
    stops the run; neither reads the first format, and the preflight says that file is missing.
    While dbt parses nothing is read: the path is not used then. -#}
{% macro extract_format(stem, formats) -%}
    {%- set wanted = var('raw_format') -%}
    {%- if wanted not in ('auto', 'csv', 'parquet') -%}
        {{- exceptions.raise_compiler_error("var raw_format is '" ~ wanted ~ "': use auto, csv or parquet") -}}
    {%- endif -%}
    {%- if wanted != 'auto' -%}
        {{- return(wanted if wanted in formats else formats[0]) -}}
    {%- endif -%}
    {%- if formats | length == 1 or not execute -%}
        {{- return(formats[0]) -}}
    {%- endif -%}
    {%- set paths = [] -%}
    {%- set present = [] -%}
    {%- for format in formats -%}
        {%- do paths.append(var('raw_dir') ~ '/' ~ stem ~ '.' ~ format) -%}
        {%- if extract_file_exists(paths[-1]) -%}{%- do present.append(format) -%}{%- endif -%}
    {%- endfor -%}
    {%- if present | length > 1 -%}
        {{- exceptions.raise_compiler_error(
            "extract " ~ stem ~ ": raw_dir has it in " ~ present | length ~ " formats ("
            ~ paths | join(', ') ~ "): set var raw_format to " ~ present | join(' or ')
            ~ ", or remove the files that are not wanted") -}}
    {%- endif -%}
    {{- return(present[0] if present else formats[0]) -}}
{%- endmacro %}

{#- What a query reads an extract's rows from. DuckDB reads the file itself: Parquet as it is,
    CSV with its header and every column as text (no type guessing), so staging does the casting.
    Spark reads the table register_extract_tables (macros/engine/spark_extract_tables.sql) put
    over the same file at the start of the run, with the same reading rules. -#}
{% macro default__extract_reader(node, path, formats) -%}
    {%- if path.endswith('.parquet') and 'parquet' in formats -%}
        {{- return('read_parquet(' ~ sql_string(path) ~ ')') -}}
    {%- endif -%}
    {{- return('read_csv(' ~ sql_string(path) ~ ', header = true, all_varchar = true)') -}}
{%- endmacro %}

{% macro spark__extract_reader(node, path, formats) -%}
    {{- return(node.schema ~ '.' ~ node.identifier) -}}
{%- endmacro %}

{#- Every declared extract (of one family), sorted; empty while dbt parses. -#}
{% macro declared_extracts(family=none) -%}
    {%- set found = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() if node.meta.get('file') -%}
            {%- set spec = extract_spec(node) -%}
            {%- if family is none or spec.family == family -%}
                {%- if spec.base_model not in extract_families().get(spec.family, []) -%}
                    {{- exceptions.raise_compiler_error(
                        "extract " ~ spec.source_name ~ "." ~ spec.table_name ~ ": add its base model '"
                        ~ spec.base_model ~ "' to family '" ~ spec.family ~ "' in extract_families()"
                        ~ " (macros/extracts/extract_declaration.sql): dbt must know a model's parents before it reads the sources YAML") -}}
                {%- endif -%}
                {%- do found.append(spec) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {{- return(found | sort(attribute='source_name,table_name')) -}}
{%- endmacro %}

{#- source() as dbt has it, reading a declared extract's file: DuckDB reads the path worked out by
    extract_spec (dbt-duckdb renders a relation with `external` set as that reader). A unit test's
    mocked source is left alone. -#}
{% macro source(source_name, table_name) -%}
    {%- set relation = builtins.source(source_name, table_name) -%}
    {%- if source_name == 'asthma_raw' and omop_input() and '__dbt__cte__' not in (relation | string) -%}
        {#- Called while dbt parses too, so the stand-in model becomes a parent of the caller. -#}
        {{- return(ref('stg_omop__' ~ table_name)) -}}
    {%- endif -%}
    {%- if execute and '__dbt__cte__' not in (relation | string) -%}
        {%- set node = extract_node(source_name, table_name) -%}
        {%- if node.meta.get('file') -%}
            {{- return(relation.incorporate(external=extract_spec(node).location)) -}}
        {%- endif -%}
    {%- endif -%}
    {{- return(relation) -}}
{%- endmacro %}

{#-
    read_extract(source_name, table_name) selects every row of the source. For an optional
    extract whose file is absent it selects no rows, with the columns declared in the YAML (all
    text), so every model downstream still builds and can say why it has nothing. A header-only
    file is read as it is (DuckDB reads the header and no rows).
-#}
{% macro read_extract(source_name, table_name) -%}
    {%- set relation = source(source_name, table_name) -%}
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
