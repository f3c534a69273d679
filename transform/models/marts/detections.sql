-- Everything someone should look at: the TS-H detections of this project and the findings
-- of the tap's per-event rules (admin_audit.findings), in one shape.
{%- set models = [
    'ts_h_001_new_actor_or_origin',
    'ts_h_002_change_outside_hours',
    'ts_h_003_mass_revocation',
    'ts_h_004_auth_key_sprawl',
    'ts_h_005_acl_churn',
    'ts_h_006_key_expiring',
    'ts_h_007_ssh_newly_enabled',
    'ts_h_008_external_device',
    'ts_h_009_unauthorized_device',
    'ts_h_010_tailnet_lock_error',
    'ts_h_011_outdated_client',
    'ts_h_012_dormant_device',
    'ts_h_013_exit_egress_spike',
    'ts_h_014_large_transfer',
    'ts_h_015_new_peer_fanout',
    'ts_h_016_derp_relay_surge',
] %}
with history as (
    {% for model in models -%}
        select
            finding_id,
            rule_id,
            title,
            severity,
            attack_ids,
            tailnet,
            subject,
            window_start,
            window_end,
            evidence
        from {{ ref(model) }}
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

per_event as (
    select
        {{ tt_surrogate('event_id', 'rule_id') }} as finding_id,
        rule_id,
        title,
        severity,
        replace(replace(replace(replace(attack_json, '[', ''), ']', ''), '"', ''), ' ', '')
            as attack_ids,
        tailnet,
        actor_name as subject,
        event_time as window_start,
        event_time as window_end,
        coalesce(summary, action) || coalesce(' (' || detail || ')', '') as evidence
    from {{ ref('stg_tailscale__admin_findings') }}
)

select
    *,
    'dbt' as source
from history
union all
select
    *,
    'tap' as source
from per_event
