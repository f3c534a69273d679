-- TS-H-003: many credentials revoked or deleted by one actor within one clock hour.
with revocations as (
    select
        *,
        date_trunc('hour', event_time) as hour_start
    from {{ ref('stg_tailscale__configuration_audit') }}
    where
        target_type in ('API_KEY', 'AUTH_KEY', 'OAUTH_CLIENT', 'FEDERATED_IDENTITY')
        and action in ('REVOKE', 'DELETE')
)

select
    {{ tt_finding_id('TS-H-003', ['tailnet', 'actor_name', 'hour_start']) }} as finding_id,
    {{ tt_rule_columns('TS-H-003') }},
    tailnet,
    actor_name as subject,
    min(event_time) as window_start,
    max(event_time) as window_end,
    cast(count(*) as {{ dbt.type_string() }}) || ' revoked: '
    || {{ dbt.listagg('target_id', "', '", 'order by target_id') }} as evidence
from revocations
group by tailnet, actor_name, hour_start
having count(*) >= {{ var('tt_mass_revocation_threshold') }}
