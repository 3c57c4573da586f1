-- Videos, one row each, including those only known from a comment, product or discovery
-- (inferred members: no counters scraped yet), so every fact's video has a row here.

with

videos as (

    select * from {{ ref('int_videos_unioned') }}

),

video_stats as (

    select * from {{ ref('stg_silver__video_stats') }}

),

discoveries as (

    select * from {{ ref('stg_silver__discoveries') }}

),

described as (

    select
        video_id,
        {{ last_non_null('caption') }} as caption,
        min(published_at) as published_at

    from video_stats
    group by video_id

),

discovered_captions as (

    select
        video_id,
        {{ last_non_null('caption', order_by='discovered_at') }} as caption

    from discoveries
    where video_id is not null
    group by video_id

),

final as (

    select
        videos.video_id,
        videos.kol_id,
        videos.platform,
        videos.video_url,
        coalesce(described.caption, discovered_captions.caption) as caption,
        described.published_at,
        cast(described.published_at as date) as published_date,
        videos.first_seen_at,
        videos.last_seen_at,
        described.video_id is null as is_inferred

    from videos
    left join described
        on videos.video_id = described.video_id
    left join discovered_captions
        on videos.video_id = discovered_captions.video_id

)

select * from final
