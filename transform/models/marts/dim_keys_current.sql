-- The current inventory: the keys of each tailnet's latest snapshot (older rows belong to
-- objects that the latest snapshot no longer lists).
with latest as (
    select
        tailnet,
        max(synced_at) as synced_at
    from {{ ref('stg_tailscale__keys') }}
    group by tailnet
)

select s.*
from {{ ref('stg_tailscale__keys') }} as s
inner join latest on s.tailnet = latest.tailnet and s.synced_at = latest.synced_at
