-- Creators whose followers jumped (changed by 20% or more in a day) in the last 30 days,
-- with what a reviewer checks next: did views follow (bought followers do not watch), and
-- are their comments bot bursts?

with

as_of as (

    select max(date_day) as last_day from {{ ref('fct_kol_daily') }}

),

jumps as (

    select fct_kol_daily.*
    from {{ ref('fct_kol_daily') }} as fct_kol_daily
    cross join as_of
    where fct_kol_daily.is_follower_jump
        and fct_kol_daily.date_day > as_of.last_day - interval '30' day
        and fct_kol_daily.date_day <= as_of.last_day

)

select
    jumps.date_day,
    jumps.platform,
    kols.username,
    jumps.previous_followers,
    jumps.followers,
    jumps.followers_delta,
    round(jumps.followers_delta_pct, 3) as followers_delta_pct,
    features.views_gained_7d,
    round(features.followers_gained_per_1k_views_7d, 1) as followers_per_1k_views_7d,
    round(features.near_duplicate_share_7d, 3) as near_duplicate_share_7d,
    round(features.engagement_rate_by_followers, 4) as engagement_rate_by_followers

from jumps
inner join {{ ref('dim_kols') }} as kols
    on jumps.kol_id = kols.kol_id
    and kols.is_current
left join {{ ref('ml_kol_features') }} as features
    on jumps.kol_id = features.kol_id
    and jumps.date_day = features.date_day
order by jumps.followers_delta_pct desc
