select
    id as user_id,
    tailnet,
    "loginName" as login_name,
    "displayName" as display_name,
    "type" as user_type,
    role,
    status,
    cast("deviceCount" as integer) as device_count,
    "currentlyConnected" as currently_connected,
    {{ tt_ts('created') }} as created_at,
    {{ tt_ts('"lastSeen"') }} as last_seen_at,
    {{ tt_ts('synced_at') }} as synced_at,
    version_hash
from {{ source('tailscale', 'users') }}
