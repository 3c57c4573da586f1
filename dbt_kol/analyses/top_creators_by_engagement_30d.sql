-- Top creators by engagement over the last 30 days, per platform.
-- Engagement = (likes + comments + shares gained) / views gained over the 30 days, among
-- creators whose videos gained at least 10,000 views (a few views make any ratio).
-- "The last 30 days" end at the latest day in Gold; replace with current_date for live data.

with

as_of as (

    select max(date_day) as last_day from {{ ref('fct_kol_daily') }}

),

kol_days as (

    select fct_kol_daily.*
    from {{ ref('fct_kol_daily') }} as fct_kol_daily
    cross join as_of
    where fct_kol_daily.date_day > as_of.last_day - interval '30' day
        and fct_kol_daily.date_day <= as_of.last_day

),

per_kol as (

    select
        kol_id,
        platform,
        max_by(followers, if(followers is not null, date_day)) as followers,
        sum(views_gained) as views_gained,
        sum(coalesce(likes_gained, 0) + coalesce(comments_gained, 0) + coalesce(shares_gained, 0))
            as engagements_gained,
        sum(videos_published) as videos_published

    from kol_days
    group by kol_id, platform

),

ranked as (

    select
        per_kol.*,
        cast(engagements_gained as double) / views_gained as engagement_rate_30d,
        rank() over (
            partition by platform
            order by cast(engagements_gained as double) / views_gained desc
        ) as engagement_rank

    from per_kol
    where views_gained >= 10000

)

select
    ranked.platform,
    ranked.engagement_rank,
    kols.username,
    kols.nickname,
    ranked.followers,
    ranked.videos_published,
    ranked.views_gained,
    round(ranked.engagement_rate_30d, 4) as engagement_rate_30d

from ranked
inner join {{ ref('dim_kols') }} as kols
    on ranked.kol_id = kols.kol_id
    and kols.is_current
where ranked.engagement_rank <= 10
order by ranked.platform, ranked.engagement_rank
