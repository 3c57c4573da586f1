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

with

video_days as (

    select * from {{ ref('int_video_stats_aggregated_to_days') }}
    where {{ in_window('date_day', window, lookback_days=var('max_gap_days')) }}

),

with_previous as (

    select
        *,
        lag(date_day) over by_video as previous_date,
        lag(view_count) over by_video as previous_view_count,
        lag(like_count) over by_video as previous_like_count,
        lag(comment_count) over by_video as previous_comment_count,
        lag(share_count) over by_video as previous_share_count

    from video_days
    window by_video as (partition by video_id order by date_day)

),

-- What a day's counters are compared with: the previous observed day if it is recent
-- enough, else zero when the video is new (counters start at zero at publication), else
-- nothing (an old video seen for the first time: its history is unknown).
with_baseline as (

    select
        *,
        case
            when previous_date is not null
                and date_diff('day', previous_date, date_day) <= {{ var('max_gap_days') }}
                then 'previous_day'
            when published_at is not null
                and date_diff('day', cast(published_at as date), date_day) <= 1
                then 'publication'
        end as delta_baseline

    from with_previous

),

final as (

    select
        video_id,
        date_day,
        kol_id,
        platform,
        stat_snapshots,
        view_count,
        like_count,
        comment_count,
        share_count,
        delta_baseline,
        if(delta_baseline = 'previous_day', date_diff('day', previous_date, date_day))
            as days_since_previous,
        view_count - case delta_baseline
            when 'previous_day' then previous_view_count when 'publication' then 0
        end as views_delta,
        like_count - case delta_baseline
            when 'previous_day' then previous_like_count when 'publication' then 0
        end as likes_delta,
        comment_count - case delta_baseline
            when 'previous_day' then previous_comment_count when 'publication' then 0
        end as comments_delta,
        share_count - case delta_baseline
            when 'previous_day' then previous_share_count when 'publication' then 0
        end as shares_delta,
        {{ safe_ratio('coalesce(like_count, 0) + coalesce(comment_count, 0) + coalesce(share_count, 0)', 'view_count') }}
            as engagement_rate,
        date_diff('day', cast(published_at as date), date_day) as video_age_days,
        last_observed_at

    from with_baseline
    where {{ in_window('date_day', window) }}

)

select * from final
