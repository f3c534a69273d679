{#- md5 of the parts, as text: a key without a package dependency. -#}
{% macro tt_surrogate() -%}
  md5({% for part in varargs %}coalesce(cast({{ part }} as {{ dbt.type_string() }}), '')
  {%- if not loop.last %} || '|' || {% endif %}{% endfor %})
{%- endmacro %}
