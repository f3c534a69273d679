{#- The columns every TS-H detection starts with, from the tt_rules var (dbt_project.yml). -#}
{% macro tt_rule_columns(rule_id) -%}
  {%- set rule = var('tt_rules')[rule_id] -%}
  '{{ rule_id }}' as rule_id,
  '{{ rule.title | replace("'", "''") }}' as title,
  '{{ rule.severity }}' as severity,
  '{{ rule.attack | join(",") }}' as attack_ids
{%- endmacro %}

{#- A stable key for one finding: the rule and what it names. -#}
{% macro tt_finding_id(rule_id, parts) -%}
  md5('{{ rule_id }}' {%- for part in parts %} || '|' || coalesce(cast({{ part }} as {{ dbt.type_string() }}), ''){% endfor %})
{%- endmacro %}
