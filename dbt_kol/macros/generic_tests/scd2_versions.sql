{% test scd2_versions(model, column_name, valid_from='valid_from', valid_to='valid_to', is_current='is_current') %}
    {#- A type 2 dimension keyed by `column_name` (the durable key) is well formed: each key
        has exactly one current version, and each version ends where the next one starts, so
        every instant after the first falls in exactly one version. -#}

    with

    versions as (

        select
            {{ column_name }} as durable_key,
            {{ valid_from }} as valid_from,
            {{ valid_to }} as valid_to,
            {{ is_current }} as is_current,
            lead({{ valid_from }}) over (
                partition by {{ column_name }} order by {{ valid_from }}
            ) as next_valid_from

        from {{ model }}

    ),

    current_counts as (

        select durable_key, count_if(is_current) as current_versions
        from versions
        group by durable_key

    )

    select durable_key, 'not exactly one current version' as problem
    from current_counts
    where current_versions <> 1

    union all

    select durable_key, 'gap or overlap with the next version' as problem
    from versions
    where next_valid_from is not null
        and (valid_to is null or valid_to <> next_valid_from)

    union all

    select durable_key, 'current version has an end' as problem
    from versions
    where is_current and valid_to is not null

    union all

    select durable_key, 'version ends before it starts' as problem
    from versions
    where valid_to < valid_from

{% endtest %}
