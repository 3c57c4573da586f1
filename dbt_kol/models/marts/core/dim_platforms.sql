with

platforms as (

    select * from {{ ref('platforms') }}

)

select
    platform,
    platform_name,
    parent_company,
    home_url,
    video_format

from platforms
