-- How often each creator was found through search, hashtags or trending lists, per day.

with

discoveries as (

    select * from {{ ref('stg_silver__discoveries') }}

),

aggregated as (

    select
        kol_id,
        discovered_date as date_day,
        platform,
        count(*) as discoveries,
        count_if(discovery_source = 'trending') as trending_discoveries

    from discoveries
    group by kol_id, discovered_date, platform

)

select * from aggregated
