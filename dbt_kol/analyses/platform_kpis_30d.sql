-- Platform KPIs over the last 30 days: audience, growth, content, engagement, comment
-- authenticity and shop sales, one row per platform (from the daily KPI mart).

with

as_of as (

    select max(date_day) as last_day from {{ ref('platform_kpi_daily') }}

),

kpi_days as (

    select platform_kpi_daily.*
    from {{ ref('platform_kpi_daily') }} as platform_kpi_daily
    cross join as_of
    where platform_kpi_daily.date_day > as_of.last_day - interval '30' day
        and platform_kpi_daily.date_day <= as_of.last_day

)

select
    kpi_days.platform,
    platforms.platform_name,
    count(*) as days,
    max_by(kpi_days.creators_observed, kpi_days.date_day) as creators_last_day,
    max_by(kpi_days.total_followers, kpi_days.date_day) as followers_last_day,
    sum(kpi_days.followers_gained) as followers_gained,
    sum(kpi_days.creators_with_follower_jump) as follower_jumps,
    sum(kpi_days.videos_published) as videos_published,
    sum(kpi_days.views_gained) as views_gained,
    round(
        cast(sum(kpi_days.likes_gained + kpi_days.comments_gained + kpi_days.shares_gained) as double)
            / nullif(sum(kpi_days.views_gained), 0),
        4
    ) as engagement_rate,
    sum(kpi_days.comments_sampled) as comments_sampled,
    round(
        cast(sum(kpi_days.near_duplicate_comments) as double)
            / nullif(sum(kpi_days.comments_sampled), 0),
        4
    ) as near_duplicate_share,
    sum(kpi_days.units_sold) as units_sold,
    sum(kpi_days.gmv_usd) as gmv_usd

from kpi_days
inner join {{ ref('dim_platforms') }} as platforms
    on kpi_days.platform = platforms.platform
group by kpi_days.platform, platforms.platform_name
order by followers_last_day desc
