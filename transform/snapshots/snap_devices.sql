{% snapshot snap_devices %}
{{ config(
    target_schema=target.schema,
    unique_key='node_id',
    strategy='check',
    check_cols=['version_hash'],
    updated_at='synced_at',
    hard_deletes='invalidate',
) }}
-- Type-2 history of the devices: a new version whenever version_hash changes between
-- loads (it ignores lastSeen and other per-minute fields); a device missing from the
-- latest snapshot is closed (dbt_valid_to).
    select * from {{ ref('dim_devices_current') }}
{% endsnapshot %}
