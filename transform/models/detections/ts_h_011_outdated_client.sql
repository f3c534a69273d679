-- TS-H-011: a device whose client has an update available.
select
    {{ tt_finding_id('TS-H-011', ['tailnet', 'node_id']) }} as finding_id,
    {{ tt_rule_columns('TS-H-011') }},
    tailnet,
    hostname as subject,
    synced_at as window_start,
    synced_at as window_end,
    'client ' || coalesce(client_version, '') as evidence
from {{ ref('dim_devices_current') }}
where update_available
