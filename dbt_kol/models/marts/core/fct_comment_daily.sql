{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['video_id', 'date_day'],
        incremental_predicates=merge_predicates(),
        on_schema_change='append_new_columns',
        properties={'partitioning': "ARRAY['month(date_day)']"},
    )
}}

{%- set window = gold_window() %}

-- A day either side of the window: a burst can straddle midnight, and its comments on the
-- window's edge days must be flagged the same way a full rebuild flags them.
with

comments as (

    select * from {{ ref('int_comments_normalised') }}
    where {{ in_window('date_day', window, lookback_days=1, lookahead_days=1) }}

),

videos as (

    select video_id, published_at from {{ ref('dim_videos') }}

),

bursts as (

    select
        *,
        count(*) over (
            partition by video_id, normalised_text
            order by commented_at
            range between interval '{{ var("near_duplicate_minutes") }}' minute preceding
                and interval '{{ var("near_duplicate_minutes") }}' minute following
        ) as same_text_nearby

    from comments

),

flagged as (

    select
        bursts.*,
        bursts.same_text_nearby >= {{ var('near_duplicate_min_count') }} as is_near_duplicate,
        coalesce(
            bursts.commented_at
                < videos.published_at + interval '{{ var("early_comment_minutes") }}' minute,
            false
        ) as is_early

    from bursts
    left join videos
        on bursts.video_id = videos.video_id
    where {{ in_window('bursts.date_day', window) }}

),

aggregated as (

    select
        video_id,
        date_day,
        kol_id,
        platform,
        count(*) as comments,
        count(distinct commenter) as distinct_commenters,
        count(distinct normalised_text) as distinct_texts,
        count_if(is_near_duplicate) as near_duplicate_comments,
        count_if(is_early) as early_comments,
        min(commented_at) as first_commented_at,
        max(commented_at) as last_commented_at

    from flagged
    group by video_id, date_day, kol_id, platform

),

final as (

    select
        *,
        {{ safe_ratio('near_duplicate_comments', 'comments') }} as near_duplicate_share,
        {{ safe_ratio('early_comments', 'comments') }} as early_comment_share,
        {{ safe_ratio('distinct_commenters', 'comments') }} as distinct_commenter_share

    from aggregated

)

select * from final
