-- TS-H-001: an admin actor, or an origin, first seen after the learning period.
with events as (
    select * from {{ ref('stg_tailscale__configuration_audit') }}
),

log_start as (
    select
        tailnet,
        min(event_time) as first_event
    from events
    group by tailnet
),

firsts as (
    select
        tailnet,
        'actor:' || actor_name as subject,
        event_time,
        event_name,
        origin,
        row_number() over (partition by tailnet, actor_name order by event_time, event_id) as n
    from events
    where actor_type <> 'NODE'
    union all
    select
        tailnet,
        'origin:' || origin as subject,
        event_time,
        event_name,
        actor_name as origin,
        row_number() over (partition by tailnet, origin order by event_time, event_id) as n
    from events
    where origin is not null
)

select
    {{ tt_finding_id('TS-H-001', ['f.tailnet', 'f.subject']) }} as finding_id,
    {{ tt_rule_columns('TS-H-001') }},
    f.tailnet,
    f.subject,
    f.event_time as window_start,
    f.event_time as window_end,
    'first event ' || f.event_name || ' (' || coalesce(f.origin, '') || ')' as evidence
from firsts as f
inner join log_start as s on f.tailnet = s.tailnet
where
    f.n = 1
    and f.event_time >= {{ dbt.dateadd('day', var('tt_new_actor_learning_days'), 's.first_event') }}
