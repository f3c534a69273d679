{#- Hours in which a node's bytes of the chosen traffic exceed `multiplier_var` times the
    node's average over its earlier hours (at least tt_baseline_min_hours of them) and
    `min_bytes_var`. -#}
{% macro tt_hourly_spike(rule_id, condition, multiplier_var, min_bytes_var) %}
with hourly as (
    select
        tailnet,
        node_id,
        max(coalesce(node_host, node_id)) as node_host,
        date_trunc('hour', logged_at) as hour_start,
        sum(total_bytes) as bytes,
        count(*) as connections
    from {{ ref('stg_tailscale__network_connection') }}
    where {{ condition }}
    group by tailnet, node_id, date_trunc('hour', logged_at)
),

baselined as (
    select
        *,
        avg(bytes) over (
            partition by tailnet, node_id order by hour_start
            rows between unbounded preceding and 1 preceding
        ) as baseline_bytes,
        count(*) over (
            partition by tailnet, node_id order by hour_start
            rows between unbounded preceding and 1 preceding
        ) as baseline_hours
    from hourly
)

select
    {{ tt_finding_id(rule_id, ['tailnet', 'node_id', 'hour_start']) }} as finding_id,
    {{ tt_rule_columns(rule_id) }},
    tailnet,
    node_host as subject,
    hour_start as window_start,
    {{ dbt.dateadd('hour', 1, 'hour_start') }} as window_end,
    {{ tt_bytes_text('bytes') }} || ' bytes in '
    || cast(connections as {{ dbt.type_string() }}) || ' rows; hourly average '
    || {{ tt_bytes_text('baseline_bytes') }} as evidence
from baselined
where
    baseline_hours >= {{ var('tt_baseline_min_hours') }}
    and bytes > {{ var(multiplier_var) }} * baseline_bytes
    and bytes >= {{ var(min_bytes_var) }}
{% endmacro %}
