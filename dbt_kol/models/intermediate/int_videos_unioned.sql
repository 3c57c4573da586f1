-- Every video referenced in any topic. Comments and products can name a video whose counters
-- were not scraped yet (or never will be); dim_videos keeps those as inferred members.

with

video_stats as (

    select video_id, kol_id, platform, video_url, observed_at as seen_at
    from {{ ref('stg_silver__video_stats') }}

),

comments as (

    select video_id, kol_id, platform, video_url, observed_at as seen_at
    from {{ ref('stg_silver__comments') }}

),

products as (

    select video_id, kol_id, platform, video_url, observed_at as seen_at
    from {{ ref('stg_silver__products') }}
    where video_id is not null

),

discoveries as (

    select video_id, kol_id, platform, video_url, discovered_at as seen_at
    from {{ ref('stg_silver__discoveries') }}
    where video_id is not null

),

unioned as (

    select * from video_stats
    union all
    select * from comments
    union all
    select * from products
    union all
    select * from discoveries

),

aggregated as (

    select
        video_id,
        kol_id,
        platform,
        max_by(video_url, case when video_url is not null then seen_at end) as video_url,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at

    from unioned
    group by video_id, kol_id, platform

)

select * from aggregated
