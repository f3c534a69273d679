-- TS-H-006: a valid key that expires soon after the latest snapshot.
select
    {{ tt_finding_id('TS-H-006', ['tailnet', 'key_id']) }} as finding_id,
    {{ tt_rule_columns('TS-H-006') }},
    tailnet,
    key_id as subject,
    synced_at as window_start,
    expires_at as window_end,
    key_type || ' key "' || coalesce(description, '') || '" expires '
    || cast(expires_at as {{ dbt.type_string() }}) as evidence
from {{ ref('dim_keys_current') }}
where
    not coalesce(invalid, false)
    and revoked_at is null
    and expires_at > synced_at
    and expires_at <= {{ dbt.dateadd('day', var('tt_key_expiry_warning_days'), 'synced_at') }}
