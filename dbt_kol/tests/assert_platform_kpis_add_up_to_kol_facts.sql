-- platform_kpi_daily must reconcile with the creator-level fact it summarises: a mismatch
-- means the two were built from different windows (a broken incremental run).

with

from_facts as (

    select
        date_day,
        platform,
        count_if(followers is not null) as creators_observed,
        sum(followers) as total_followers,
        sum(videos_observed) as videos_observed

    from {{ ref('fct_kol_daily') }}
    group by date_day, platform

),

kpis as (

    select * from {{ ref('platform_kpi_daily') }}

)

select
    coalesce(from_facts.date_day, kpis.date_day) as date_day,
    coalesce(from_facts.platform, kpis.platform) as platform,
    from_facts.total_followers as fact_followers,
    kpis.total_followers as kpi_followers

from from_facts
full outer join kpis
    on from_facts.date_day = kpis.date_day
    and from_facts.platform = kpis.platform
where from_facts.date_day is null
    or kpis.date_day is null
    or from_facts.creators_observed <> kpis.creators_observed
    or from_facts.total_followers is distinct from kpis.total_followers
    or from_facts.videos_observed <> kpis.videos_observed
