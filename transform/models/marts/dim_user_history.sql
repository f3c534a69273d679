-- Type-2 history of every user (from the snap_users snapshot).
select
    {{ tt_surrogate('user_id', 'dbt_valid_from') }} as user_version_id,
    user_id,
    tailnet,
    login_name,
    role,
    status,
    version_hash,
    cast(dbt_valid_from as {{ dbt.type_timestamp() }}) as valid_from,
    cast(dbt_valid_to as {{ dbt.type_timestamp() }}) as valid_to,
    dbt_valid_to is null as is_current
from {{ ref('snap_users') }}
