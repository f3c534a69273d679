-- TS-H-010: a device reporting a tailnet lock error.
select
    {{ tt_finding_id('TS-H-010', ['tailnet', 'node_id']) }} as finding_id,
    {{ tt_rule_columns('TS-H-010') }},
    tailnet,
    hostname as subject,
    synced_at as window_start,
    synced_at as window_end,
    tailnet_lock_error as evidence
from {{ ref('dim_devices_current') }}
where tailnet_lock_error is not null
