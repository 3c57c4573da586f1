with

source as (

    select * from {{ source('silver', 'video_stats') }}
    where kafka_topic = {{ kol_topic('kol.videos.raw') }}

),

renamed as (

    select

        ----------  ids
        event_id,
        video_id,
        platform || ':' || username as kol_id,
        platform,
        username,

        ---------- text
        video_url,
        caption,

        ---------- numerics
        view_count,
        like_count,
        comment_count,
        share_count,

        ---------- timestamps
        published_at,
        event_time as observed_at,
        event_date as observed_date,
        kafka_timestamp as arrived_at,
        processed_at as loaded_at

    from source

)

select * from renamed
