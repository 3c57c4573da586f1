{% macro hash_columns(columns) -%}
    {#- md5 of the columns' text, null-safe and unambiguous ('a',null != null,'a'). -#}
    lower(to_hex(md5(to_utf8(concat_ws('|'
    {%- for column in columns -%}
        , coalesce(cast({{ column }} as varchar), '<null>')
    {%- endfor -%}
    )))))
{%- endmacro %}


{% macro last_non_null(column, order_by='observed_at', tie_breaker='event_id') -%}
    {#- The column's latest non-null value in the group. A scraper that could not read a
        counter leaves it null; the previous reading of the day is the better value. -#}
    max_by({{ column }}, case when {{ column }} is not null then row({{ order_by }}, {{ tie_breaker }}) end)
{%- endmacro %}


{% macro first_non_null(column, order_by='observed_at', tie_breaker='event_id') -%}
    min_by({{ column }}, case when {{ column }} is not null then row({{ order_by }}, {{ tie_breaker }}) end)
{%- endmacro %}


{% macro safe_ratio(numerator, denominator) -%}
    {#- Null instead of a division by zero (Trino raises on integer /0 and gives Infinity on doubles). -#}
    cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0)
{%- endmacro %}


{% macro day_end_utc(date_column) -%}
    {#- The instant a UTC day ends, independent of the session's time zone. -#}
    with_timezone(cast(date_add('day', 1, {{ date_column }}) as timestamp(6)), 'UTC')
{%- endmacro %}
