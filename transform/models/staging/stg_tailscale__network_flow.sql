-- One row per flow log record (a node's report for one sample window).
select
    flow_id,
    tailnet,
    "nodeId" as node_id,
    {{ tt_ts('logged') }} as logged_at,
    {{ tt_ts('"start"') }} as started_at,
    {{ tt_ts('"end"') }} as ended_at,
    "virtualTraffic" as virtual_traffic,
    "subnetTraffic" as subnet_traffic,
    "exitTraffic" as exit_traffic,
    "physicalTraffic" as physical_traffic
from {{ source('tailscale', 'network_flow') }}
