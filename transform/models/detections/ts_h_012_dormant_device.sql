-- TS-H-012: a device not seen for a long time and not connected.
select
    {{ tt_finding_id('TS-H-012', ['tailnet', 'node_id']) }} as finding_id,
    {{ tt_rule_columns('TS-H-012') }},
    tailnet,
    hostname as subject,
    synced_at as window_start,
    synced_at as window_end,
    'last seen ' || cast(last_seen_at as {{ dbt.type_string() }}) as evidence
from {{ ref('dim_devices_current') }}
where
    not coalesce(connected_to_control, false)
    and {{ dbt.dateadd('day', var('tt_dormant_days'), 'last_seen_at') }} < synced_at
