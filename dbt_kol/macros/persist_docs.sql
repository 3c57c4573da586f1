{#--
  dbt-trino's persist_docs, issuing only the comments that differ from the table's.

  Upstream comments the relation and every documented column on every run. On Iceberg each
  COMMENT is a metadata commit, so a daily build committed ~200 of them (about 19 s of its
  statements, and 200 metadata files a day) to say what the tables already said. The current
  comments are read in two queries; a new or replaced table has none, so it gets all of them.
--#}
{% macro trino__persist_docs(relation, model, for_relation, for_columns) -%}
  {% set do_relation = for_relation and config.persist_relation_docs() %}
  {% set do_columns = for_columns and config.persist_column_docs() %}

  {% if do_relation and model.description %}
    {% set current = run_query(
      "select comment from system.metadata.table_comments where catalog_name = '"
      ~ relation.database ~ "' and schema_name = '" ~ relation.schema
      ~ "' and table_name = '" ~ relation.identifier ~ "'") %}
    {% set have = (current.rows[0][0] if current.rows | length else none) or '' %}
    {% if have | trim != model.description | trim %}
      {% do run_query(alter_relation_comment(relation, model.description)) %}
    {% endif %}
  {% endif %}

  {% if do_columns and model.columns %}
    {#- SHOW COLUMNS: Column, Type, Extra, Comment -#}
    {% set shown = run_query("show columns from " ~ relation) %}
    {% set comments = {} %}
    {% for row in shown.rows %}
      {% do comments.update({row[0] | lower: row[3] or ''}) %}
    {% endfor %}
    {% set documented = validate_doc_columns(relation, model.columns, comments.keys() | list) %}
    {% set changed = {} %}
    {% for name, column in documented.items() %}
      {% if comments[name | lower] | trim != (column['description'] or '') | trim %}
        {% do changed.update({name: column}) %}
      {% endif %}
    {% endfor %}
    {% if changed %}
      {% do run_query(alter_column_comment(relation, changed)) %}
    {% endif %}
  {% endif %}
{%- endmacro %}


{#--
  A contract-enforced table is created from its column list: the documented columns carry their
  comments in it, so a table model replaced every day (the dimensions) is not commented again
  column by column afterwards (persist_docs above finds the comments already there).
--#}
{% macro trino__get_table_columns_and_constraints() -%}
  {%- set columns = model['columns'].values() | list -%}
  {%- set rendered = adapter.render_raw_columns_constraints(raw_columns=model['columns']) -%}
  {%- set model_constraints = adapter.render_raw_model_constraints(raw_constraints=model['constraints']) -%}
  {%- set with_docs = config.persist_column_docs() -%}
  (
  {% for c in rendered -%}
    {%- set doc = columns[loop.index0]['description'] if with_docs else '' -%}
    {{ c }}{% if doc | trim %} comment '{{ doc | replace("'", "''") }}'{% endif %}{{ "," if not loop.last or model_constraints }}
  {% endfor %}
  {% for c in model_constraints -%}
    {{ c }}{{ "," if not loop.last }}
  {% endfor -%}
  )
{%- endmacro %}
