-- Type-2 history of every device, one row per version (from the snap_devices snapshot).
select
    {{ tt_surrogate('node_id', 'dbt_valid_from') }} as device_version_id,
    node_id,
    tailnet,
    hostname,
    name,
    user_login,
    os,
    client_version,
    authorized,
    is_external,
    ssh_enabled,
    tags,
    tailnet_lock_error,
    version_hash,
    cast(dbt_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
    cast(dbt_valid_to as {{ dbt.type_timestamp() }}) as valid_to,
    dbt_valid_to is null as is_current,
    row_number() over (partition by node_id order by dbt_valid_from) as version_number
from {{ ref('snap_devices') }}
