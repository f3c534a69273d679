{% snapshot snap_users %}
{{ config(
    target_schema=target.schema,
    unique_key='user_id',
    strategy='check',
    check_cols=['version_hash'],
    updated_at='synced_at',
    hard_deletes='invalidate',
) }}
    select * from {{ ref('dim_users_current') }}
{% endsnapshot %}
