{#-
    Generic test: a boolean SQL expression holds on every row (or, with aggregate=true, over the
    whole relation). Fails with the rows (or the single aggregate) where it does not.
-#}
{% test expression_holds(model, expression, column_name=none, aggregate=false, where_clause=none) %}
    {%- if aggregate %}
        select 1 as failure
        from {{ model }}
        {% if where_clause %}where {{ where_clause }}{% endif %}
        having not ({{ expression }})
    {%- else %}
        select *
        from {{ model }}
        where not coalesce(({{ expression }}), false)
        {% if where_clause %}and {{ where_clause }}{% endif %}
    {%- endif %}
{% endtest %}
