select
    tailnet,
    dns_version,
    "magicDNS" as magic_dns,
    "overrideLocalDNS" as override_local_dns,
    {{ tt_text('nameservers') }} as nameservers,
    {{ tt_text('"searchPaths"') }} as search_paths,
    "splitDNS" as split_dns,
    {{ tt_ts('synced_at') }} as synced_at
from {{ source('tailscale', 'dns') }}
