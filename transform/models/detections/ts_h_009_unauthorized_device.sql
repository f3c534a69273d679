-- TS-H-009: a device of the latest snapshot that is not authorized.
select
    {{ tt_finding_id('TS-H-009', ['tailnet', 'node_id']) }} as finding_id,
    {{ tt_rule_columns('TS-H-009') }},
    tailnet,
    hostname as subject,
    synced_at as window_start,
    synced_at as window_end,
    'not authorized; user ' || coalesce(user_login, '') || ', ' || coalesce(os, '') as evidence
from {{ ref('dim_devices_current') }}
where authorized = false
