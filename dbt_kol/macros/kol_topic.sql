{% macro kol_topic(topic) -%}
    {#- The Kafka topic whose events a staging model keeps, e.g. 'kol.profiles.raw'.
        Tests and benchmarks prefix their topics, so Silver holds several worlds at once. -#}
    '{{ var("kol_topic_prefix") ~ topic }}'
{%- endmacro %}
