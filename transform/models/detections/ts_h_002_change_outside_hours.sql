-- TS-H-002: a change by a person, the console or the API outside working hours.
with events as (
    select
        *,
        {{ tt_local('event_time') }} as local_time
    from {{ ref('stg_tailscale__configuration_audit') }}
    where actor_type = 'USER' or origin in ('ADMIN_CONSOLE', 'CONFIG_API')
)

select
    {{ tt_finding_id('TS-H-002', ['event_id']) }} as finding_id,
    {{ tt_rule_columns('TS-H-002') }},
    tailnet,
    actor_name as subject,
    event_time as window_start,
    event_time as window_end,
    event_name || ' on ' || coalesce(target_name, target_id, '') as evidence
from events
where
    cast(extract(hour from local_time) as integer) < {{ var('tt_working_hours_start') }}
    or cast(extract(hour from local_time) as integer) >= {{ var('tt_working_hours_end') }}
    or {{ tt_isodow('local_time') }} not in ({{ var('tt_working_days') | join(', ') }})
