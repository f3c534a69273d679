-- TS-H-004: too many valid reusable auth keys, or an auth or API key that never expires.
with valid as (
    select *
    from {{ ref('dim_keys_current') }}
    where
        not coalesce(invalid, false)
        and revoked_at is null
        and (expires_at is null or expires_at > synced_at)
),

reusable as (
    select
        tailnet,
        'reusable:' || cast(count(*) as {{ dbt.type_string() }}) as subject,
        max(synced_at) as synced_at,
        {{ dbt.listagg('key_id', "', '", 'order by key_id') }} as evidence
    from valid
    where key_type = 'auth' and is_reusable
    group by tailnet
    having count(*) > {{ var('tt_reusable_keys_threshold') }}
),

forever as (
    select
        tailnet,
        key_id as subject,
        synced_at,
        key_type || ' key "' || coalesce(description, '') || '" has no expiry' as evidence
    from valid
    where key_type in ('auth', 'api') and expires_at is null
)

select
    {{ tt_finding_id('TS-H-004', ['tailnet', 'subject']) }} as finding_id,
    {{ tt_rule_columns('TS-H-004') }},
    tailnet,
    subject,
    synced_at as window_start,
    synced_at as window_end,
    evidence
from (
    select * from reusable
    union all
    select * from forever
) as found
