with

source as (

    select * from {{ source('silver', 'discovery') }}
    where kafka_topic = {{ kol_topic('kol.discovery.raw') }}

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
        source as discovery_source,
        keyword,
        niche_hint,
        video_url,
        caption,

        ---------- timestamps
        event_time as discovered_at,
        event_date as discovered_date,
        kafka_timestamp as arrived_at,
        processed_at as loaded_at

    from source

)

select * from renamed
