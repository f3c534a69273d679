-- TS-H-007: a device whose history shows SSH switched on (false, then true).
with versions as (
    select
        *,
        lag(ssh_enabled) over (partition by node_id order by valid_from) as previous_ssh,
        lag(valid_from) over (partition by node_id order by valid_from) as previous_from
    from {{ ref('dim_device_history') }}
)

select
    {{ tt_finding_id('TS-H-007', ['node_id', 'valid_from']) }} as finding_id,
    {{ tt_rule_columns('TS-H-007') }},
    tailnet,
    hostname as subject,
    previous_from as window_start,
    valid_from as window_end,
    'sshEnabled false -> true on ' || node_id as evidence
from versions
where ssh_enabled and previous_ssh = false
