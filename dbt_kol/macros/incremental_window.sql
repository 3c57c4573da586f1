{#
    Which days an incremental build rewrites, and which it reads.

    Gold works in whole UTC days. A run for the data interval [start, end) rewrites the days
    [start - late_days, end): Silver files a record under the day it arrived, so the interval's
    new records can belong to the two days before it (generator and scrapers deliver up to 48 h
    late), and further back to `changed_from` when gold.runner.build found rows in the interval
    that happened before that. Without `start`, a run continues from the last day already in
    the model. A full build (first run, --full-refresh, unit tests) rewrites every day before
    `end`.

    Rewritten rows are computed from Silver alone, never from the model's own earlier rows, so
    an incremental run and a full rebuild give the same rows for the same Silver: reruns and
    backfills are idempotent.
#}

{% macro gold_window() %}
    {%- set datetime = modules.datetime -%}
    {%- set until = none -%}
    {%- if var('end') is not none -%}
        {%- set until = datetime.date.fromisoformat((var('end') | string)[:10]) -%}
    {%- endif -%}
    {%- set rebuild_from = none -%}
    {%- if is_incremental() -%}
        {%- if var('start') is not none -%}
            {%- set first = datetime.date.fromisoformat((var('start') | string)[:10]) -%}
        {%- elif execute -%}
            {%- set result = run_query('select cast(max(date_day) as varchar) from ' ~ this) -%}
            {%- set last = result.columns[0].values()[0] -%}
            {%- set first = datetime.date.fromisoformat(last) if last else none -%}
        {%- else -%}
            {%- set first = none -%}
        {%- endif -%}
        {%- if first is not none -%}
            {%- set rebuild_from = earliest_change(first - datetime.timedelta(days=var('late_days') | int)) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return({'rebuild_from': rebuild_from, 'until': until}) }}
{% endmacro %}


{% macro in_window(column, window, lookback_days=0, lookahead_days=0) -%}
    {#- A predicate keeping `column` (a date) inside the window, widened by lookback_days
        before it (history a delta or rolling feature needs) and lookahead_days after it. -#}
    {%- set timedelta = modules.datetime.timedelta -%}
    {%- set conditions = [] -%}
    {%- if window.rebuild_from is not none -%}
        {%- set lo = window.rebuild_from - timedelta(days=lookback_days | int) -%}
        {%- do conditions.append(column ~ " >= date '" ~ lo.isoformat() ~ "'") -%}
    {%- endif -%}
    {%- if window.until is not none -%}
        {%- set hi = window.until + timedelta(days=lookahead_days | int) -%}
        {%- do conditions.append(column ~ " < date '" ~ hi.isoformat() ~ "'") -%}
    {%- endif -%}
    {{ conditions | join(' and ') if conditions else 'true' }}
{%- endmacro %}


{% macro merge_predicates(column='date_day') %}
    {#- Lets MERGE prune the target's partitions when the interval is known at parse time
        (Airflow and `kol gold build` pass it). -#}
    {%- if var('start') is none -%}
        {{ return([]) }}
    {%- endif -%}
    {%- set first = modules.datetime.date.fromisoformat((var('start') | string)[:10]) -%}
    {%- set lo = earliest_change(first - modules.datetime.timedelta(days=var('late_days') | int)) -%}
    {{ return(["DBT_INTERNAL_DEST." ~ column ~ " >= date '" ~ lo.isoformat() ~ "'"]) }}
{% endmacro %}


{% macro earliest_change(rebuild_from) %}
    {#- `changed_from`: the oldest day of the Silver rows that arrived in the interval, which
        gold.runner.build looks up; older than start - late_days, it moves the window back. -#}
    {%- if var('changed_from', none) is not none -%}
        {%- set changed = modules.datetime.date.fromisoformat(var('changed_from') | string) -%}
        {%- if changed < rebuild_from -%}
            {{ return(changed) }}
        {%- endif -%}
    {%- endif -%}
    {{ return(rebuild_from) }}
{% endmacro %}
