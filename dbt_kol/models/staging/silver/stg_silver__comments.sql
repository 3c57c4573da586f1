with

source as (

    select * from {{ source('silver', 'comments') }}
    where kafka_topic = {{ kol_topic('kol.comments.raw') }}

),

renamed as (

    select

        ----------  ids
        event_id,
        comment_id,
        video_id,
        platform || ':' || username as kol_id,
        platform,
        username,

        ---------- text
        video_url,
        comment_text,
        commenter,

        ---------- timestamps
        -- Scrapers that know when the comment was written say so; otherwise the observation
        -- time is the best estimate (the generator samples comments at their writing time).
        coalesce(commented_at, event_time) as commented_at,
        event_time as observed_at,
        event_date as observed_date,
        kafka_timestamp as arrived_at,
        processed_at as loaded_at

    from source

)

select * from renamed
