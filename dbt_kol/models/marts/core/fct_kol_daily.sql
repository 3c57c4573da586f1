{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['kol_id', 'date_day'],
        incremental_predicates=merge_predicates(),
        on_schema_change='append_new_columns',
        properties={'partitioning': "ARRAY['month(date_day)']"},
    )
}}

{%- set window = gold_window() %}

with

profile_days as (

    select * from {{ ref('int_profiles_aggregated_to_days') }}
    where {{ in_window('date_day', window, lookback_days=var('max_gap_days')) }}

),

video_days as (

    select * from {{ ref('fct_video_daily') }}
    where {{ in_window('date_day', window) }}

),

videos as (

    select * from {{ ref('dim_videos') }}
    where published_date is not null
        and {{ in_window('published_date', window) }}

),

profile_deltas as (

    select
        *,
        lag(date_day) over by_kol as previous_date,
        lag(followers) over by_kol as previous_followers,
        lag(following) over by_kol as previous_following,
        lag(total_likes) over by_kol as previous_total_likes,
        lag(posts) over by_kol as previous_posts

    from profile_days
    window by_kol as (partition by kol_id order by date_day)

),

profile_changes as (

    select
        kol_id,
        date_day,
        platform,
        profile_snapshots,
        followers,
        following,
        total_likes,
        posts,
        reported_engagement_rate,
        -- Deltas only against a recent enough observation (see var max_gap_days).
        if(
            date_diff('day', previous_date, date_day) <= {{ var('max_gap_days') }},
            date_diff('day', previous_date, date_day)
        ) as days_since_previous,
        if(
            date_diff('day', previous_date, date_day) <= {{ var('max_gap_days') }},
            previous_followers
        ) as previous_followers,
        if(
            date_diff('day', previous_date, date_day) <= {{ var('max_gap_days') }},
            following - previous_following
        ) as following_delta,
        if(
            date_diff('day', previous_date, date_day) <= {{ var('max_gap_days') }},
            total_likes - previous_total_likes
        ) as total_likes_delta,
        if(
            date_diff('day', previous_date, date_day) <= {{ var('max_gap_days') }},
            posts - previous_posts
        ) as posts_delta

    from profile_deltas
    where {{ in_window('date_day', window) }}

),

video_activity as (

    select
        kol_id,
        date_day,
        platform,
        count(*) as videos_observed,
        sum(view_count) as views,
        sum(like_count) as likes,
        sum(comment_count) as comments,
        sum(share_count) as shares,
        sum(views_delta) as views_gained,
        sum(likes_delta) as likes_gained,
        sum(comments_delta) as comments_gained,
        sum(shares_delta) as shares_gained

    from video_days
    group by kol_id, date_day, platform

),

publications as (

    select
        kol_id,
        published_date as date_day,
        platform,
        count(*) as videos_published

    from videos
    group by kol_id, published_date, platform

),

-- A creator-day exists when the creator's profile or one of its videos was observed that
-- day (a publication time alone is not an observation of that day).
kol_days as (

    select kol_id, date_day, platform from profile_changes
    union
    select kol_id, date_day, platform from video_activity

),

final as (

    select
        kol_days.kol_id,
        kol_days.date_day,
        kol_days.platform,
        coalesce(profile_changes.profile_snapshots, 0) as profile_snapshots,
        profile_changes.followers,
        profile_changes.following,
        profile_changes.total_likes,
        profile_changes.posts,
        profile_changes.days_since_previous,
        profile_changes.previous_followers,
        profile_changes.followers - profile_changes.previous_followers as followers_delta,
        {{ safe_ratio('profile_changes.followers - profile_changes.previous_followers', 'profile_changes.previous_followers') }}
            as followers_delta_pct,
        coalesce(
            abs({{ safe_ratio('profile_changes.followers - profile_changes.previous_followers', 'profile_changes.previous_followers') }})
                >= {{ var('follower_jump_pct') }},
            false
        ) as is_follower_jump,
        profile_changes.following_delta,
        profile_changes.total_likes_delta,
        profile_changes.posts_delta,
        coalesce(publications.videos_published, 0) as videos_published,
        coalesce(video_activity.videos_observed, 0) as videos_observed,
        video_activity.views,
        video_activity.likes,
        video_activity.comments,
        video_activity.shares,
        video_activity.views_gained,
        video_activity.likes_gained,
        video_activity.comments_gained,
        video_activity.shares_gained,
        {{ safe_ratio('coalesce(video_activity.likes, 0) + coalesce(video_activity.comments, 0) + coalesce(video_activity.shares, 0)', 'video_activity.views') }}
            as engagement_rate,
        {{ safe_ratio(
            safe_ratio('coalesce(video_activity.likes, 0) + coalesce(video_activity.comments, 0) + coalesce(video_activity.shares, 0)', 'video_activity.videos_observed'),
            'profile_changes.followers'
        ) }} as engagement_rate_by_followers,
        {{ safe_ratio(safe_ratio('video_activity.views', 'video_activity.videos_observed'), 'profile_changes.followers') }}
            as views_per_follower,
        profile_changes.reported_engagement_rate

    from kol_days
    left join profile_changes
        on kol_days.kol_id = profile_changes.kol_id
        and kol_days.date_day = profile_changes.date_day
    left join video_activity
        on kol_days.kol_id = video_activity.kol_id
        and kol_days.date_day = video_activity.date_day
    left join publications
        on kol_days.kol_id = publications.kol_id
        and kol_days.date_day = publications.date_day

)

select * from final
