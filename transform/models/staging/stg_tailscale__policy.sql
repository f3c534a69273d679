select
    tailnet,
    policy_version,
    etag,
    sha256,
    hujson,
    parse_error,
    {{ tt_json('policy') }} as policy,
    {{ tt_ts('synced_at') }} as synced_at
from {{ source('tailscale', 'policy') }}
