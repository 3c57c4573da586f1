{% test unique_combination_of_columns(model, combination_of_columns) %}
    {#- Composite primary keys: no two rows share the combination (dbt_utils' test, which
        this project does not install because dbt hub is unreachable from its machines). -#}
    {%- set columns = combination_of_columns | join(', ') %}

    select {{ columns }}, count(*) as rows_with_key
    from {{ model }}
    group by {{ columns }}
    having count(*) > 1

{% endtest %}
