{% snapshot snap_keys %}
{{ config(
    target_schema=target.schema,
    unique_key='key_id',
    strategy='check',
    check_cols=['version_hash'],
    updated_at='synced_at',
    hard_deletes='invalidate',
) }}
    select * from {{ ref('dim_keys_current') }}
{% endsnapshot %}
