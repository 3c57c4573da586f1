with

source as (

    select * from {{ source('silver', 'profiles') }}
    where kafka_topic = {{ kol_topic('kol.profiles.raw') }}

),

renamed as (

    select

        ----------  ids
        event_id,
        platform || ':' || username as kol_id,
        platform,
        username,

        ---------- text
        nickname,
        bio,
        avatar_url,
        profile_url,
        country,
        source as import_source,

        ---------- numerics
        followers,
        following,
        likes as total_likes,
        posts,
        avg_views,
        avg_likes,
        avg_comments,
        avg_shares,
        recent_avg_likes,
        engagement_rate as reported_engagement_rate,

        ---------- booleans
        verified as is_verified,

        ---------- timestamps
        event_time as observed_at,
        event_date as observed_date,
        kafka_timestamp as arrived_at,
        processed_at as loaded_at

    from source

)

select * from renamed
