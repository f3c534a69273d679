-- Type-2 history of every key (from the snap_keys snapshot).
select
    {{ tt_surrogate('key_id', 'dbt_valid_from') }} as key_version_id,
    key_id,
    tailnet,
    key_type,
    description,
    invalid,
    is_reusable,
    expires_at,
    revoked_at,
    version_hash,
    cast(dbt_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
    cast(dbt_valid_to as {{ dbt.type_timestamp() }}) as valid_to,
    dbt_valid_to is null as is_current
from {{ ref('snap_keys') }}
