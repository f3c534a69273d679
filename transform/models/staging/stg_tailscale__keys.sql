-- Keys of every kind; is_reusable from the auth key's capabilities.
select
    id as key_id,
    tailnet,
    "keyType" as key_type,
    description,
    "userId" as user_id,
    invalid,
    coalesce(
        cast(capabilities -> 'devices' -> 'create' ->> 'reusable' as boolean), false
    ) as is_reusable,
    {{ tt_text('scopes') }} as scopes,
    {{ tt_text('tags') }} as tags,
    cast("expirySeconds" as bigint) as expiry_seconds,
    {{ tt_ts('created') }} as created_at,
    {{ tt_ts('expires') }} as expires_at,
    {{ tt_ts('revoked') }} as revoked_at,
    {{ tt_ts('synced_at') }} as synced_at,
    version_hash
from {{ source('tailscale', 'keys') }}
