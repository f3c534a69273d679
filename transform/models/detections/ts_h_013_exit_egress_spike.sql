-- TS-H-013: a node's exit traffic in one hour far above its own hourly average.
{{ tt_hourly_spike(
    'TS-H-013',
    "traffic_kind = 'exit'",
    'tt_exit_spike_multiplier',
    'tt_exit_spike_min_bytes',
) }}
