-- TS-H-016: a node's DERP-relayed traffic in one hour far above its own hourly average.
{{ tt_hourly_spike(
    'TS-H-016',
    "traffic_kind = 'physical' and derp_region is not null",
    'tt_derp_surge_multiplier',
    'tt_derp_surge_min_bytes',
) }}
