{#-
    One SQL for DuckDB and Spark (tests/python/engine/test_spark.py builds every model on both and
    compares the marts). Each macro names an operation
    whose spelling (or meaning) differs between the engines and dispatches per adapter:
    `duckdb__` is exactly what the models write today, `spark__` the Spark SQL (Spark 4, also
    Databricks, whose adapter falls back to the spark__ versions) that gives the same result.
    Where dbt's own cross-database macros already do the job they are used instead
    (dbt.datediff for day counts, dbt.string_literal/escape_single_quotes for literals), and where
    one spelling means the same on both engines the models use it without a macro (`string`,
    power(), min_by/max_by, `nulls last`). Each macro says in one line what differs.
-#}

{#- Hex SHA-256 of a text expression (the pseudonymous key). -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex')(expression)) }}
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    sha256({{ expression }})
{%- endmacro %}

{% macro spark__sha256_hex(expression) -%}
    sha2({{ expression }}, 256)
{%- endmacro %}

{#- An ISO date (YYYY-MM-DD) or NULL. Spark's cast also accepts '2024-01' and anything after
    the day ('2024-01-05 x'), which DuckDB rejects, so Spark checks the shape first. -#}
{% macro try_iso_date(expression) -%}
    {{ return(adapter.dispatch('try_iso_date')(expression)) }}
{%- endmacro %}

{% macro duckdb__try_iso_date(expression) -%}
    try_cast({{ expression }} as date)
{%- endmacro %}

{% macro spark__try_iso_date(expression) -%}
    case
        when regexp_like({{ expression }}, '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}$')
            then try_cast({{ expression }} as date)
    end
{%- endmacro %}

{#- A U.S. date (MM/DD/YYYY, as CMS writes them) or NULL. -#}
{% macro try_us_date(expression) -%}
    {{ return(adapter.dispatch('try_us_date')(expression)) }}
{%- endmacro %}

{% macro duckdb__try_us_date(expression) -%}
    try_strptime({{ expression }}, '%m/%d/%Y')::date
{%- endmacro %}

{% macro spark__try_us_date(expression) -%}
    to_date(try_to_timestamp({{ expression }}, 'M/d/yyyy'))
{%- endmacro %}

{#- Whole years from a date of birth to a date (age on that date). -#}
{% macro age_in_years(birth_date, on_date) -%}
    {{ return(adapter.dispatch('age_in_years')(birth_date, on_date)) }}
{%- endmacro %}

{% macro duckdb__age_in_years(birth_date, on_date) -%}
    date_part('year', age({{ on_date }}, {{ birth_date }}))
{%- endmacro %}

{#- Spark counts calendar years and corrects by the month and day; like DuckDB's age() it
    rounds toward zero when the birth is after the date (an impossible birth date, quarantined). -#}
{% macro spark__age_in_years(birth_date, on_date) -%}
    year({{ on_date }}) - year({{ birth_date }})
    - case
        when {{ birth_date }} <= {{ on_date }} and date_format({{ on_date }}, 'MMdd') < date_format({{ birth_date }}, 'MMdd')
            then 1
        when {{ birth_date }} > {{ on_date }} and date_format({{ on_date }}, 'MMdd') > date_format({{ birth_date }}, 'MMdd')
            then -1
        else 0
    end
{%- endmacro %}

{#- A date plus a whole number of days (negative: minus), as a DATE on both engines: DuckDB's
    date + interval is a TIMESTAMP, so it is cast back; Spark has date_add. -#}
{% macro add_days(date_expression, days) -%}
    {{ return(adapter.dispatch('add_days')(date_expression, days)) }}
{%- endmacro %}

{% macro duckdb__add_days(date_expression, days) -%}
    cast({{ date_expression }} + interval ({{ days }}) day as date)
{%- endmacro %}

{% macro spark__add_days(date_expression, days) -%}
    date_add({{ date_expression }}, {{ days }})
{%- endmacro %}

{#- A date plus a whole number of years, as a DATE; 29 February lands on 28 February in a common
    year on both engines (DuckDB: + to_years(), a TIMESTAMP cast back; Spark: add_months). -#}
{% macro add_years(date_expression, years) -%}
    {{ return(adapter.dispatch('add_years')(date_expression, years)) }}
{%- endmacro %}

{% macro duckdb__add_years(date_expression, years) -%}
    cast({{ date_expression }} + to_years({{ years }}) as date)
{%- endmacro %}

{% macro spark__add_years(date_expression, years) -%}
    add_months({{ date_expression }}, 12 * ({{ years }}))
{%- endmacro %}

{#- Complete years from a date of birth to a date, counting a year complete on the date add_years
    gives (so a 29 February birth completes a year on 28 February in a common year, as the Lexis
    split's age bands do; age_in_years waits for 1 March). DuckDB has date_sub('year', ..); Spark
    counts the calendar years and takes one off when the anniversary is still to come (toward
    zero, as DuckDB, when the birth is after the date). -#}
{% macro complete_years(birth_date, on_date) -%}
    {{ return(adapter.dispatch('complete_years')(birth_date, on_date)) }}
{%- endmacro %}

{% macro duckdb__complete_years(birth_date, on_date) -%}
    date_sub('year', {{ birth_date }}, {{ on_date }})
{%- endmacro %}

{% macro spark__complete_years(birth_date, on_date) -%}
    {%- set anniversary = "add_months(" ~ birth_date ~ ", 12 * (year(" ~ on_date ~ ") - year(" ~ birth_date ~ ")))" -%}
    year({{ on_date }}) - year({{ birth_date }})
    - case
        when {{ birth_date }} <= {{ on_date }} and {{ anniversary }} > {{ on_date }} then 1
        when {{ birth_date }} > {{ on_date }} and {{ anniversary }} < {{ on_date }} then -1
        else 0
    end
{%- endmacro %}

{#- One row per day from start_date to end_date (both included), in a column date_day: a whole
    query. DuckDB generates it with range(); Spark explodes sequence(). -#}
{% macro date_series(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_series')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__date_series(start_date, end_date) -%}
    select cast(range as date) as date_day
    from range({{ start_date }}, {{ end_date }} + interval 1 day, interval 1 day)
{%- endmacro %}

{% macro spark__date_series(start_date, end_date) -%}
    select explode(sequence({{ start_date }}, {{ end_date }}, interval 1 day)) as date_day
{%- endmacro %}

{#- Aggregate: the continuous (interpolated) quantiles of an expression at each fraction of the
    list, as one array; list_at() reads it. DuckDB takes a list literal, Spark an array(). -#}
{% macro quantile_cont_list(expression, fractions) -%}
    {{ return(adapter.dispatch('quantile_cont_list')(expression, fractions)) }}
{%- endmacro %}

{% macro duckdb__quantile_cont_list(expression, fractions) -%}
    quantile_cont({{ expression }}, [{{ fractions | join(', ') }}])
{%- endmacro %}

{% macro spark__quantile_cont_list(expression, fractions) -%}
    percentile({{ expression }}, array({{ fractions | join(', ') }}))
{%- endmacro %}

{#- The element at a 1-based position of an array: DuckDB indexes lists from 1, Spark's
    arr[i] from 0, so Spark uses element_at (1-based). -#}
{% macro list_at(array_expression, position) -%}
    {{ return(adapter.dispatch('list_at')(array_expression, position)) }}
{%- endmacro %}

{% macro duckdb__list_at(array_expression, position) -%}
    {{ array_expression }}[{{ position }}]
{%- endmacro %}

{% macro spark__list_at(array_expression, position) -%}
    element_at({{ array_expression }}, {{ position }})
{%- endmacro %}

{#- Fail the query with a message (a text expression) when evaluated: DuckDB error(), Spark
    raise_error(). -#}
{% macro raise_error(message) -%}
    {{ return(adapter.dispatch('raise_error')(message)) }}
{%- endmacro %}

{% macro duckdb__raise_error(message) -%}
    error({{ message }})
{%- endmacro %}

{% macro spark__raise_error(message) -%}
    raise_error({{ message }})
{%- endmacro %}

{#- Does the text match a regular expression: the whole text (full=true; the pattern has no
    anchors) or anywhere in it (full=false)? Spark string literals treat a backslash as an escape
    ('\d' would reach the regex as 'd'), so the spark__ version doubles every backslash. -#}
{% macro regex_match(expression, pattern, full=true) -%}
    {{ return(adapter.dispatch('regex_match')(expression, pattern, full)) }}
{%- endmacro %}

{% macro duckdb__regex_match(expression, pattern, full) -%}
    {{ 'regexp_full_match' if full else 'regexp_matches' }}({{ expression }}, '{{ pattern }}')
{%- endmacro %}

{% macro spark__regex_match(expression, pattern, full) -%}
    {%- set escaped = pattern | replace('\\', '\\\\') -%}
    regexp_like({{ expression }}, '{{ "^(?:" ~ escaped ~ ")$" if full else escaped }}')
{%- endmacro %}

{#- Aggregate: the values joined by a delimiter in the order of order_by (deterministic).
    dbt.listagg cannot: its Spark version drops the order. -#}
{% macro ordered_string_agg(expression, delimiter, order_by) -%}
    {{ return(adapter.dispatch('ordered_string_agg')(expression, delimiter, order_by)) }}
{%- endmacro %}

{% macro duckdb__ordered_string_agg(expression, delimiter, order_by) -%}
    string_agg({{ expression }}, {{ delimiter }} order by {{ order_by }})
{%- endmacro %}

{% macro spark__ordered_string_agg(expression, delimiter, order_by) -%}
    string_agg({{ expression }}, {{ delimiter }}) within group (order by {{ order_by }})
{%- endmacro %}

{#- The row's position in the file as read: DuckDB numbers rows in reading order without an
    ORDER BY; Spark needs one, and monotonically_increasing_id() follows the file's splits in
    order (one window over all rows: fine at the scales tested here, a bottleneck at scale). -#}
{% macro file_row_number() -%}
    {{ return(adapter.dispatch('file_row_number')()) }}
{%- endmacro %}

{% macro duckdb__file_row_number() -%}
    row_number() over ()
{%- endmacro %}

{% macro spark__file_row_number() -%}
    row_number() over (order by monotonically_increasing_id())
{%- endmacro %}

{#- The whole row of a relation alias as one value (to find byte-identical rows). -#}
{% macro whole_row(alias) -%}
    {{ return(adapter.dispatch('whole_row')(alias)) }}
{%- endmacro %}

{% macro duckdb__whole_row(alias) -%}
    {{ alias }}
{%- endmacro %}

{% macro spark__whole_row(alias) -%}
    struct({{ alias }}.*)
{%- endmacro %}

{#- Every column of the relation in FROM but the listed ones. DuckDB spells it `* exclude`,
    Spark `* except`; DuckDB also reads `except`, but the SQL linter's DuckDB dialect does not. -#}
{% macro star_except(columns) -%}
    {{ return(adapter.dispatch('star_except')(columns)) }}
{%- endmacro %}

{% macro duckdb__star_except(columns) -%}
    * exclude ({{ columns | join(', ') }})
{%- endmacro %}

{% macro spark__star_except(columns) -%}
    * except ({{ columns | join(', ') }})
{%- endmacro %}

{#- A text as a SQL string literal, its quotes escaped the adapter's way: DuckDB doubles a
    quote ('it''s'); Spark reads two adjacent literals there ('it' 's' = "its") and wants \'. -#}
{% macro sql_string(text) -%}
    {{ dbt.string_literal(dbt.escape_single_quotes(text)) }}
{%- endmacro %}
