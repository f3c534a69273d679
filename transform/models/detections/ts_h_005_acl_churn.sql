-- TS-H-005: many policy file updates in one day.
with updates as (
    select
        *,
        date_trunc('day', event_time) as day_start
    from {{ ref('stg_tailscale__configuration_audit') }}
    where event_name = 'TAILNET.UPDATE.ACL'
)

select
    {{ tt_finding_id('TS-H-005', ['tailnet', 'day_start']) }} as finding_id,
    {{ tt_rule_columns('TS-H-005') }},
    tailnet,
    'acl:' || cast(count(*) as {{ dbt.type_string() }}) as subject,
    min(event_time) as window_start,
    max(event_time) as window_end,
    'policy updated by ' || {{ dbt.listagg('distinct actor_name', "', '", 'order by actor_name') }}
        as evidence
from updates
group by tailnet, day_start
having count(*) >= {{ var('tt_acl_churn_threshold') }}
