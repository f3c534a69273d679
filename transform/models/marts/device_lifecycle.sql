-- When did each device first appear, get SSH, change tags, disappear?
with versions as (
    select
        *,
        lag(ssh_enabled) over (partition by node_id order by valid_from) as previous_ssh,
        lag(tags) over (partition by node_id order by valid_from) as previous_tags
    from {{ ref('dim_device_history') }}
)

select
    node_id,
    max(tailnet) as tailnet,
    max(case when is_current then hostname end) as current_hostname,
    min(valid_from) as first_seen_at,
    min(case when ssh_enabled and not coalesce(previous_ssh, false) then valid_from end)
        as ssh_enabled_at,
    max(case when previous_tags is not null and tags <> previous_tags then valid_from end)
        as tags_changed_at,
    case when max(case when is_current then 1 else 0 end) = 0 then max(valid_to) end
        as disappeared_at,
    count(*) as versions
from versions
group by node_id
