{#- SQL that differs between DuckDB and PostgreSQL, behind one name each. -#}

{% macro tt_json(expr) -%}
  {{ return(adapter.dispatch('tt_json', 'tap_tailscale')(expr)) }}
{%- endmacro %}
{% macro default__tt_json(expr) %}cast({{ expr }} as json){% endmacro %}
{% macro postgres__tt_json(expr) %}cast({{ expr }} as jsonb){% endmacro %}

{#- `alias.value` is each element of the JSON array `expr`, one row each. -#}
{% macro tt_json_elements(expr, alias) -%}
  {{ return(adapter.dispatch('tt_json_elements', 'tap_tailscale')(expr, alias)) }}
{%- endmacro %}
{% macro default__tt_json_elements(expr, alias) -%}
  unnest(cast({{ expr }} as json[])) as {{ alias }} (value)
{%- endmacro %}
{#- target-postgres loads JSON arrays as jsonb[] (and arrays of strings as text[]). -#}
{% macro postgres__tt_json_elements(expr, alias) -%}
  lateral unnest({{ expr }}) as {{ alias }} (value)
{%- endmacro %}

{#- A JSON or array column as JSON text (`["tag:a", "tag:b"]`) on both warehouses. -#}
{% macro tt_text(expr) -%}
  {{ return(adapter.dispatch('tt_text', 'tap_tailscale')(expr)) }}
{%- endmacro %}
{% macro default__tt_text(expr) %}cast({{ expr }} as {{ dbt.type_string() }}){% endmacro %}
{% macro postgres__tt_text(expr) %}cast(to_jsonb({{ expr }}) as text){% endmacro %}

{% macro tt_ts(expr) %}cast({{ expr }} as {{ dbt.type_timestamp() }}){% endmacro %}

{#- Local time for the working-hours rule. -#}
{% macro tt_local(expr) -%}
  {{ dbt.dateadd('hour', var('tt_utc_offset_hours'), expr) }}
{%- endmacro %}

{% macro tt_isodow(expr) %}cast(extract(isodow from {{ expr }}) as integer){% endmacro %}

{#- A byte count as whole-number text; counters are u64, past bigint. -#}
{% macro tt_bytes_text(expr) -%}
  cast(cast({{ expr }} as decimal(38, 0)) as {{ dbt.type_string() }})
{%- endmacro %}
