-- One row per video per day with a counter snapshot, holding the day's highest readings.
-- Public counters only grow, so the maximum is the end-of-day value, and it skips the
-- readings a scraper missed (null) without needing their order.

with

video_stats as (

    select * from {{ ref('stg_silver__video_stats') }}

),

aggregated as (

    select
        video_id,
        observed_date as date_day,
        kol_id,
        platform,
        count(*) as stat_snapshots,
        max(view_count) as view_count,
        max(like_count) as like_count,
        max(comment_count) as comment_count,
        max(share_count) as share_count,
        min(published_at) as published_at,
        max(observed_at) as last_observed_at

    from video_stats
    group by video_id, observed_date, kol_id, platform

)

select * from aggregated
