-- Creators as a type 2 slowly changing dimension: one row per version of the profile's
-- descriptive fields, rebuilt from the full Silver history on every run. Rebuilding (rather
-- than a dbt snapshot) keeps the history exact when days are backfilled or arrive late, and
-- makes a rerun return the same rows.

with

profiles as (

    select * from {{ ref('stg_silver__profiles') }}

),

kols as (

    select * from {{ ref('int_kols_unioned') }}

),

discoveries as (

    select * from {{ ref('stg_silver__discoveries') }}

),

-- The niche discovery sources suggest most often (ties: alphabetical). Profiles do not state
-- one, so it is the current best estimate, the same on every version.
niche_votes as (

    select kol_id, niche_hint, count(*) as votes
    from discoveries
    where niche_hint is not null
    group by kol_id, niche_hint

),

niches as (

    select kol_id, min_by(niche_hint, row(-votes, niche_hint)) as niche
    from niche_votes
    group by kol_id

),

-- A field the scraper could not read keeps its last known value: a missed reading is not a
-- change of the profile.
carried_forward as (

    select
        kol_id,
        event_id,
        observed_at,
        last_value(nickname) ignore nulls over history as nickname,
        last_value(bio) ignore nulls over history as bio,
        last_value(avatar_url) ignore nulls over history as avatar_url,
        last_value(profile_url) ignore nulls over history as profile_url,
        last_value(is_verified) ignore nulls over history as is_verified,
        last_value(country) ignore nulls over history as country

    from profiles
    window history as (
        partition by kol_id
        order by observed_at, event_id
        rows between unbounded preceding and current row
    )

),

hashed as (

    select
        *,
        {{ hash_columns(['nickname', 'bio', 'avatar_url', 'profile_url', 'is_verified', 'country']) }}
            as attributes_hash

    from carried_forward

),

changes as (

    select
        *,
        lag(attributes_hash) over (partition by kol_id order by observed_at, event_id)
            as previous_attributes_hash

    from hashed

),

versions as (

    select
        kol_id,
        nickname,
        bio,
        avatar_url,
        profile_url,
        is_verified,
        country,
        attributes_hash,
        observed_at as changed_at,
        lead(observed_at) over (partition by kol_id order by observed_at, event_id) as valid_to,
        row_number() over (partition by kol_id order by observed_at, event_id) as version_number,
        false as is_inferred

    from changes
    where previous_attributes_hash is null
        or previous_attributes_hash <> attributes_hash

),

-- Creators seen only through their videos, comments or products so far: one version with
-- unknown attributes, replaced by the real history once a profile snapshot arrives.
inferred as (

    select
        kols.kol_id,
        cast(null as varchar) as nickname,
        cast(null as varchar) as bio,
        cast(null as varchar) as avatar_url,
        cast(null as varchar) as profile_url,
        cast(null as boolean) as is_verified,
        cast(null as varchar) as country,
        cast(null as varchar) as attributes_hash,
        kols.first_seen_at as changed_at,
        cast(null as timestamp(6) with time zone) as valid_to,
        bigint '1' as version_number,
        true as is_inferred

    from kols
    left join (select distinct kol_id from profiles) as profiled
        on kols.kol_id = profiled.kol_id
    where profiled.kol_id is null

),

all_versions as (

    select * from versions
    union all
    select * from inferred

),

final as (

    select
        {{ hash_columns(['all_versions.kol_id', 'all_versions.changed_at', 'all_versions.attributes_hash']) }}
            as kol_version_id,
        all_versions.kol_id,
        kols.platform,
        kols.username,
        all_versions.nickname,
        all_versions.bio,
        all_versions.avatar_url,
        all_versions.profile_url,
        all_versions.is_verified,
        all_versions.country,
        niches.niche,
        (
            if(nullif(trim(all_versions.nickname), '') is not null, 1, 0)
            + if(nullif(trim(all_versions.bio), '') is not null, 1, 0)
            + if(nullif(trim(all_versions.avatar_url), '') is not null, 1, 0)
            + if(nullif(trim(all_versions.profile_url), '') is not null, 1, 0)
        ) / 4.0e0 as profile_completeness,
        -- The first version reaches back to the creator's first sighting in any topic, so
        -- every fact of the creator falls inside some version.
        if(all_versions.version_number = 1, kols.first_seen_at, all_versions.changed_at)
            as valid_from,
        all_versions.valid_to,
        all_versions.valid_to is null as is_current,
        cast(all_versions.version_number as integer) as version_number,
        all_versions.is_inferred,
        kols.first_seen_at,
        kols.last_seen_at

    from all_versions
    inner join kols
        on all_versions.kol_id = kols.kol_id
    left join niches
        on all_versions.kol_id = niches.kol_id

)

select * from final
