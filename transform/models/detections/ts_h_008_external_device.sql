-- TS-H-008: a device shared in from another tailnet, created recently.
select
    {{ tt_finding_id('TS-H-008', ['tailnet', 'node_id']) }} as finding_id,
    {{ tt_rule_columns('TS-H-008') }},
    tailnet,
    hostname as subject,
    synced_at as window_start,
    synced_at as window_end,
    'shared in, created '
    || cast(created_at as {{ dbt.type_string() }})
    || ' by '
    || coalesce(user_login, '') as evidence
from {{ ref('dim_devices_current') }}
where
    is_external
    and {{ dbt.dateadd('day', var('tt_external_device_days'), 'created_at') }} >= synced_at
