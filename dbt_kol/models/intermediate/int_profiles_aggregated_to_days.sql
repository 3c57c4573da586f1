-- One row per creator per day with a profile snapshot: the day's last reading of each field.

with

profiles as (

    select * from {{ ref('stg_silver__profiles') }}

),

aggregated as (

    select
        kol_id,
        observed_date as date_day,
        platform,
        username,
        count(*) as profile_snapshots,
        {{ last_non_null('followers') }} as followers,
        {{ last_non_null('following') }} as following,
        {{ last_non_null('total_likes') }} as total_likes,
        {{ last_non_null('posts') }} as posts,
        {{ last_non_null('nickname') }} as nickname,
        {{ last_non_null('bio') }} as bio,
        {{ last_non_null('avatar_url') }} as avatar_url,
        {{ last_non_null('profile_url') }} as profile_url,
        {{ last_non_null('is_verified') }} as is_verified,
        {{ last_non_null('country') }} as country,
        {{ last_non_null('reported_engagement_rate') }} as reported_engagement_rate,
        max(observed_at) as last_observed_at

    from profiles
    group by kol_id, observed_date, platform, username

)

select * from aggregated
