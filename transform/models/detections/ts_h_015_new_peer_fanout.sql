-- TS-H-015: a node reaching many peers in one hour that it never reached before.
with virtual as (
    select *
    from {{ ref('stg_tailscale__network_connection') }}
    where traffic_kind = 'virtual' and dst_ip is not null
),

node_start as (
    select
        tailnet,
        node_id,
        min(date_trunc('hour', logged_at)) as first_hour
    from virtual
    group by tailnet, node_id
),

first_contacts as (
    select
        tailnet,
        node_id,
        dst_ip,
        max(coalesce(node_host, node_id)) as node_host,
        min(date_trunc('hour', logged_at)) as hour_start
    from virtual
    group by tailnet, node_id, dst_ip
)

select
    {{ tt_finding_id('TS-H-015', ['c.tailnet', 'c.node_id', 'c.hour_start']) }} as finding_id,
    {{ tt_rule_columns('TS-H-015') }},
    c.tailnet,
    max(c.node_host) as subject,
    c.hour_start as window_start,
    {{ dbt.dateadd('hour', 1, 'c.hour_start') }} as window_end,
    cast(count(*) as {{ dbt.type_string() }}) || ' new peers: '
    || {{ dbt.listagg('c.dst_ip', "', '", 'order by c.dst_ip') }} as evidence
from first_contacts as c
inner join node_start as s on c.tailnet = s.tailnet and c.node_id = s.node_id
where c.hour_start > s.first_hour
group by c.tailnet, c.node_id, c.hour_start
having count(*) >= {{ var('tt_fanout_new_peers') }}
