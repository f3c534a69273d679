-- One row per traffic item of a flow record; counters are u64, so decimal(38, 0)
-- (target-duckdb loads them as double, target-postgres as exact numeric).
select
    connection_id,
    flow_id,
    tailnet,
    "nodeId" as node_id,
    node_name,
    split_part(node_name, '.', 1) as node_host,
    peer_node_id,
    peer_name,
    traffic_kind,
    cast(proto as {{ dbt.type_string() }}) as proto,
    proto_name,
    src,
    src_ip,
    cast(src_port as integer) as src_port,
    dst,
    dst_ip,
    cast(dst_port as integer) as dst_port,
    cast(derp_region as integer) as derp_region,
    {{ tt_ts('logged') }} as logged_at,
    {{ tt_ts('"start"') }} as started_at,
    {{ tt_ts('"end"') }} as ended_at,
    coalesce(cast("txBytes" as decimal(38, 0)), 0) as tx_bytes,
    coalesce(cast("rxBytes" as decimal(38, 0)), 0) as rx_bytes,
    coalesce(cast("txPkts" as decimal(38, 0)), 0) as tx_packets,
    coalesce(cast("rxPkts" as decimal(38, 0)), 0) as rx_packets,
    coalesce(cast("txBytes" as decimal(38, 0)), 0)
    + coalesce(cast("rxBytes" as decimal(38, 0)), 0) as total_bytes
from {{ source('tailscale', 'network_connection') }}
