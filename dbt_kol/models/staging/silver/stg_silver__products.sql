with

source as (

    select * from {{ source('silver', 'products') }}
    where kafka_topic = {{ kol_topic('kol.products.raw') }}

),

renamed as (

    select

        ----------  ids
        event_id,
        product_id,
        seller_id,
        video_id,
        platform || ':' || username as kol_id,
        platform,
        username,

        ---------- text
        product_title,
        category,
        currency,
        video_url,

        ---------- numerics
        price,
        sold_count,

        ---------- booleans
        has_shop,

        ---------- timestamps
        event_time as observed_at,
        event_date as observed_date,
        kafka_timestamp as arrived_at,
        processed_at as loaded_at

    from source

)

select * from renamed
