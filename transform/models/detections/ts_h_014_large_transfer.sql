-- TS-H-014: one connection far larger than the node's usual connection.
with connections as (
    select
        *,
        avg(total_bytes) over (
            partition by tailnet, node_id order by logged_at, connection_id
            rows between unbounded preceding and 1 preceding
        ) as baseline_bytes,
        count(*) over (
            partition by tailnet, node_id order by logged_at, connection_id
            rows between unbounded preceding and 1 preceding
        ) as baseline_connections
    from {{ ref('stg_tailscale__network_connection') }}
    where traffic_kind = 'virtual'
)

select
    {{ tt_finding_id('TS-H-014', ['connection_id']) }} as finding_id,
    {{ tt_rule_columns('TS-H-014') }},
    tailnet,
    coalesce(node_host, node_id) as subject,
    started_at as window_start,
    ended_at as window_end,
    src || ' -> ' || dst || ': ' || {{ tt_bytes_text('total_bytes') }}
    || ' bytes; average ' || {{ tt_bytes_text('baseline_bytes') }}
        as evidence
from connections
where
    baseline_connections >= {{ var('tt_large_transfer_min_connections') }}
    and total_bytes > {{ var('tt_large_transfer_multiplier') }} * baseline_bytes
    and total_bytes >= {{ var('tt_large_transfer_min_bytes') }}
