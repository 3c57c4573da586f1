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
{#- Trailing windows are seven days (the row's day and the six before), as the _7d names say. -#}
{%- set trailing_days = 6 %}

with

kol_days as (

    select * from {{ ref('fct_kol_daily') }}
    where {{ in_window('date_day', window, lookback_days=trailing_days) }}

),

kols as (

    select * from {{ ref('dim_kols') }}
    where is_current

),

trailing as (

    select
        *,
        sum(followers_delta) over last_days as followers_gained_7d,
        sum(views_gained) over last_days as views_gained_7d

    from kol_days
    window last_days as (
        partition by kol_id
        order by date_day
        range between interval '{{ trailing_days }}' day preceding and current row
    )

),

-- Followers are not comparable across platforms, so every rank is within one platform-day.
ranked as (

    select
        trailing.date_day,
        trailing.platform,
        trailing.kol_id,
        kols.username,
        kols.nickname,
        trailing.followers,
        trailing.followers_delta,
        trailing.followers_gained_7d,
        {{ safe_ratio('trailing.followers_gained_7d', 'trailing.followers - trailing.followers_gained_7d') }}
            as followers_growth_pct_7d,
        trailing.views_gained,
        trailing.views_gained_7d,
        trailing.engagement_rate,
        trailing.is_follower_jump,
        if(
            trailing.followers is not null,
            rank() over (
                partition by trailing.date_day, trailing.platform, trailing.followers is not null
                order by trailing.followers desc
            )
        ) as followers_rank,
        if(
            trailing.followers_gained_7d is not null,
            rank() over (
                partition by trailing.date_day, trailing.platform,
                    trailing.followers_gained_7d is not null
                order by trailing.followers_gained_7d desc
            )
        ) as growth_rank,
        if(
            trailing.views_gained_7d is not null,
            rank() over (
                partition by trailing.date_day, trailing.platform,
                    trailing.views_gained_7d is not null
                order by trailing.views_gained_7d desc
            )
        ) as views_rank,
        -- A handful of views makes any ratio; only creators with real reach are ranked.
        if(
            coalesce(trailing.views, 0) >= {{ var('ranking_min_views') }}
                and trailing.engagement_rate is not null,
            rank() over (
                partition by trailing.date_day, trailing.platform,
                    coalesce(trailing.views, 0) >= {{ var('ranking_min_views') }}
                        and trailing.engagement_rate is not null
                order by trailing.engagement_rate desc
            )
        ) as engagement_rank

    from trailing
    left join kols
        on trailing.kol_id = kols.kol_id
    where {{ in_window('trailing.date_day', window) }}

)

select * from ranked
