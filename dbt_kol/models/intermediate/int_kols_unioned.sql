-- Every creator seen in any topic, with the first and last sighting. A creator's videos can
-- arrive before its first profile snapshot; dim_kols keeps such creators as inferred members.

with

profiles as (

    select kol_id, platform, username, observed_at as seen_at
    from {{ ref('stg_silver__profiles') }}

),

video_stats as (

    select kol_id, platform, username, observed_at as seen_at
    from {{ ref('stg_silver__video_stats') }}

),

comments as (

    select kol_id, platform, username, observed_at as seen_at
    from {{ ref('stg_silver__comments') }}

),

products as (

    select kol_id, platform, username, observed_at as seen_at
    from {{ ref('stg_silver__products') }}

),

discoveries as (

    select kol_id, platform, username, discovered_at as seen_at
    from {{ ref('stg_silver__discoveries') }}

),

unioned as (

    select * from profiles
    union all
    select * from video_stats
    union all
    select * from comments
    union all
    select * from products
    union all
    select * from discoveries

),

aggregated as (

    select
        kol_id,
        platform,
        username,
        min(seen_at) as first_seen_at,
        max(seen_at) as last_seen_at

    from unioned
    group by kol_id, platform, username

)

select * from aggregated
