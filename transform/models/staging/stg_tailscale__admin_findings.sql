-- One row per finding of the tap's per-event rules (admin_audit.findings).
select
    a.event_id,
    a.tailnet,
    a.event_time,
    a.action,
    a.actor_name,
    a.target_name,
    a.summary,
    f.value ->> 'rule_id' as rule_id,
    f.value ->> 'title' as title,
    f.value ->> 'severity' as severity,
    f.value ->> 'detail' as detail,
    {{ tt_text("f.value -> 'attack'") }} as attack_json
from {{ ref('stg_tailscale__admin_audit') }} as a
cross join {{ tt_json_elements('a.findings', 'f') }}
where a.findings is not null
