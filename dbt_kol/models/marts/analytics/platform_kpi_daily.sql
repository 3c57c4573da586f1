{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['platform', 'date_day'],
        incremental_predicates=merge_predicates(),
        on_schema_change='append_new_columns',
    )
}}

{%- set window = gold_window() %}

-- Ratios are computed from integer sums, never averaged from per-row doubles: integer sums are
-- exact, so a rebuild gives bit-identical KPIs whatever order Trino adds the rows in.
with

kol_days as (

    select * from {{ ref('fct_kol_daily') }}
    where {{ in_window('date_day', window) }}

),

comment_days as (

    select * from {{ ref('fct_comment_daily') }}
    where {{ in_window('date_day', window) }}

),

sales_days as (

    select * from {{ ref('fct_product_sales_daily') }}
    where {{ in_window('date_day', window) }}

),

creators as (

    select
        date_day,
        platform,
        count_if(followers is not null) as creators_observed,
        sum(followers) as total_followers,
        sum(followers_delta) as followers_gained,
        count_if(is_follower_jump) as creators_with_follower_jump,
        sum(videos_published) as videos_published,
        sum(videos_observed) as videos_observed,
        sum(views) as views,
        sum(coalesce(likes, 0) + coalesce(comments, 0) + coalesce(shares, 0)) as engagements,
        sum(views_gained) as views_gained,
        sum(likes_gained) as likes_gained,
        sum(comments_gained) as comments_gained,
        sum(shares_gained) as shares_gained

    from kol_days
    group by date_day, platform

),

comments as (

    select
        date_day,
        platform,
        sum(comments) as comments_sampled,
        sum(near_duplicate_comments) as near_duplicate_comments

    from comment_days
    group by date_day, platform

),

sales as (

    select
        date_day,
        platform,
        count(distinct if(units_sold > 0, kol_id)) as selling_creators,
        sum(units_sold) as units_sold,
        sum(gmv_usd) as gmv_usd

    from sales_days
    group by date_day, platform

),

platform_days as (

    select date_day, platform from creators
    union
    select date_day, platform from comments
    union
    select date_day, platform from sales

),

final as (

    select
        platform_days.date_day,
        platform_days.platform,
        coalesce(creators.creators_observed, 0) as creators_observed,
        creators.total_followers,
        creators.followers_gained,
        coalesce(creators.creators_with_follower_jump, 0) as creators_with_follower_jump,
        coalesce(creators.videos_published, 0) as videos_published,
        coalesce(creators.videos_observed, 0) as videos_observed,
        creators.views_gained,
        creators.likes_gained,
        creators.comments_gained,
        creators.shares_gained,
        {{ safe_ratio('creators.engagements', 'creators.views') }} as engagement_rate,
        coalesce(comments.comments_sampled, 0) as comments_sampled,
        coalesce(comments.near_duplicate_comments, 0) as near_duplicate_comments,
        {{ safe_ratio('comments.near_duplicate_comments', 'comments.comments_sampled') }}
            as near_duplicate_share,
        coalesce(sales.selling_creators, 0) as selling_creators,
        sales.units_sold,
        sales.gmv_usd

    from platform_days
    left join creators
        on platform_days.date_day = creators.date_day
        and platform_days.platform = creators.platform
    left join comments
        on platform_days.date_day = comments.date_day
        and platform_days.platform = comments.platform
    left join sales
        on platform_days.date_day = sales.date_day
        and platform_days.platform = sales.platform

)

select * from final
