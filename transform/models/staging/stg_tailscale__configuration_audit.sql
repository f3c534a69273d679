-- One row per configuration audit event, typed; old/new parsed from their JSON text.
select
    event_id,
    tailnet,
    {{ tt_ts('"eventTime"') }} as event_time,
    {{ tt_ts('"deferredAt"') }} as deferred_at,
    "eventGroupID" as event_group_id,
    "type" as event_type,
    origin,
    action,
    "actionDetails" as action_details,
    error,
    actor ->> 'id' as actor_id,
    actor ->> 'type' as actor_type,
    nullif(actor ->> 'loginName', '') as actor_login_name,
    nullif(actor ->> 'displayName', '') as actor_display_name,
    coalesce(
        nullif(actor ->> 'loginName', ''),
        nullif(actor ->> 'displayName', ''),
        actor ->> 'id'
    ) as actor_name,
    target ->> 'id' as target_id,
    target ->> 'name' as target_name,
    target ->> 'type' as target_type,
    nullif(target ->> 'property', '') as target_property,
    coalesce(target ->> 'type', '') || '.' || action
    || coalesce('.' || nullif(target ->> 'property', ''), '') as event_name,
    old as old_text,
    new as new_text,
    {{ tt_json('old') }} as old_value,
    {{ tt_json('new') }} as new_value
from {{ source('tailscale', 'configuration_audit') }}
