-- One row per normalized admin action, with the tap's own findings as JSON.
select
    event_id,
    tailnet,
    {{ tt_ts('event_time') }} as event_time,
    event_type,
    action,
    category,
    severity,
    outcome,
    origin,
    summary,
    actor ->> 'id' as actor_id,
    actor ->> 'type' as actor_type,
    coalesce(
        actor ->> 'login_name', actor ->> 'display_name', actor ->> 'id'
    ) as actor_name,
    target ->> 'id' as target_id,
    target ->> 'name' as target_name,
    target ->> 'type' as target_type,
    findings,
    old as old_text,
    new as new_text,
    {{ tt_json('old') }} as old_value,
    {{ tt_json('new') }} as new_value
from {{ source('tailscale', 'admin_audit') }}
