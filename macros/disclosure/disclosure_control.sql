{#-
    Disclosure control: one policy for every published asthma figure (the var disclosure_policy
    names it; by default OpenSAFELY's output-checking rules). What a published count may be:
      - redacted (NULL) when it is var redact_counts_at_or_below or fewer (primary suppression),
        or when it must be hidden to protect such a count (secondary suppression);
      - otherwise rounded to the nearest var round_counts_to (0 or 1 = exact).

    disclosure_control(relation, partition_by, primary_condition, rank_by, protected_counts)
    returns a parenthesised query: every row of `relation` plus
      is_primary_suppressed    the row meets primary_condition (a small count);
      is_secondary_suppressed  the row is hidden only to protect a primary-suppressed sibling;
      is_suppressed            either.
    Rows of one partition (e.g. the groups of one dimension for one outcome) add up to a
    published total, so a single hidden row could be recovered as total minus the rest, and
    hidden rows whose counts add up to very little (0, or a few) would each be narrowed to that
    little. When a partition has exactly one primary-suppressed row, or its primary-suppressed
    rows add up to redact_counts_at_or_below or fewer in any of `protected_counts`, the smallest
    other row (by `rank_by`) is suppressed too. That row is not primary, so each of its protected
    counts is above the threshold: the hidden rows then share a remainder above the threshold,
    and none of them can be narrowed below "0 to the threshold" from the partition. A partition
    of one row (a total) needs no partner: nothing is published below it.
    Models then publish NULL for every count and every figure derived from a count in a
    suppressed row (publish_count()), and say what was done in a disclosure_action column
    (disclosure_action()).
-#}
{% macro disclosure_control(relation, partition_by, primary_condition, rank_by, protected_counts) -%}
    {%- set partition = partition_by | join(', ') -%}
    {%- set threshold = var('redact_counts_at_or_below') -%}
    {#- NULLs rank last on every engine (Spark's default for ascending order is first). -#}
    {%- set ranking = [] -%}
    {%- for column in rank_by.split(',') -%}
        {%- do ranking.append(column | trim ~ ' nulls last') -%}
    {%- endfor -%}
    {#- The working columns, left out of the result. -#}
    {%- set helper_columns = ['dc_primary_rows', 'dc_rank'] -%}
    {%- for c in protected_counts -%}
        {%- do helper_columns.append('dc_primary_sum_' ~ loop.index) -%}
    {%- endfor -%}
    (
        with

        dc_primary as (
            select
                *,
                coalesce({{ primary_condition }}, false) as is_primary_suppressed
            from {{ relation }}
        ),

        dc_ranked as (
            select
                *,
                count(*) filter (where is_primary_suppressed) over dc_partition as dc_primary_rows,
                {% for c in protected_counts -%}
                    coalesce(sum({{ c }}) filter (where is_primary_suppressed) over dc_partition, 0)
                        as dc_primary_sum_{{ loop.index }},
                {% endfor -%}
                row_number() over (
                    partition by {{ partition }} order by is_primary_suppressed desc, {{ ranking | join(', ') }}
                ) as dc_rank
            from dc_primary
            window dc_partition as (partition by {{ partition }})
        ),

        dc_flagged as (
            select
                *,
                not is_primary_suppressed
                and dc_rank = dc_primary_rows + 1
                and (
                    dc_primary_rows = 1
                    {% for c in protected_counts -%}
                        or (dc_primary_rows > 1 and dc_primary_sum_{{ loop.index }} <= {{ threshold }})
                    {% endfor -%}
                ) as is_secondary_suppressed
            from dc_ranked
        )

        select
            {{ star_except(helper_columns) }},
            is_primary_suppressed or is_secondary_suppressed as is_suppressed
        from dc_flagged
    )
{%- endmacro %}

{#- The primary rule for one count: redacted at or below var redact_counts_at_or_below. -#}
{% macro is_small_count(column) -%}
    ({{ column }} <= {{ var('redact_counts_at_or_below') }})
{%- endmacro %}

{#- A published count: NULL when suppressed, else rounded to the nearest var round_counts_to
    (0 or 1 = not rounded). -#}
{% macro publish_count(column, suppressed='is_suppressed') -%}
    {%- set base = var('round_counts_to') | int -%}
    case
        when not {{ suppressed }} then
            {%- if base > 1 %} cast(round({{ column }} / {{ base }}) * {{ base }} as bigint)
            {%- else %} cast({{ column }} as bigint){% endif %}
    end
{%- endmacro %}

{#- What was done to the row's values. One wording for primary and secondary suppression, so
    the label cannot be used to narrow a hidden value down. -#}
{% macro disclosure_action(suppressed='is_suppressed') -%}
    {%- set base = var('round_counts_to') | int -%}
    case
        when {{ suppressed }} then 'suppressed: small count, or hidden to protect one'
        {%- if base > 1 %}
            else 'published: counts rounded to the nearest {{ base }}; figures that could give a count back use the rounded counts'
        {%- else %}
            else 'published: exact counts'
        {%- endif %}
    end
{%- endmacro %}
