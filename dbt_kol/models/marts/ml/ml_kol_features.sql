{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['kol_id', 'date_day'],
        incremental_predicates=merge_predicates(),
        on_schema_change='append_new_columns',
        properties={'partitioning': "ARRAY['month(date_day)']"},
    )
}}

{#-
    One row per creator per day with the features the trust and success models train and
    score on. Every feature of day D uses only what was observed up to the end of D (trailing
    windows, the profile version valid then), so training rows carry no future information.
-#}

{%- set window = gold_window() %}
{#- Trailing windows are seven days (the row's day and the six before), as the _7d names say. -#}
{%- set trailing_days = 6 %}
{#- The creator's level (success's naive forecast) and the audience's history (trust): 28 days,
    the row's day and the 27 before. A purchase delivered weeks ago, or drip-fed over a fortnight,
    leaves nothing in a seven-day window but still shows in the followers a month of views did
    not bring. -#}
{%- set level_days = 27 %}

with

kol_days as (

    select * from {{ ref('fct_kol_daily') }}
    where {{ in_window('date_day', window, lookback_days=level_days) }}

),

comment_days as (

    select
        kol_id,
        date_day,
        sum(comments) as comments,
        sum(near_duplicate_comments) as near_duplicate_comments,
        sum(early_comments) as early_comments,
        sum(distinct_commenters) as distinct_commenters,
        sum(distinct_texts) as distinct_texts

    from {{ ref('fct_comment_daily') }}
    where {{ in_window('date_day', window, lookback_days=level_days) }}
    group by kol_id, date_day

),

sales_days as (

    select
        kol_id,
        date_day,
        count(distinct product_id) as products_listed,
        sum(units_sold) as units_sold,
        sum(gmv_usd) as gmv_usd

    from {{ ref('fct_product_sales_daily') }}
    where {{ in_window('date_day', window, lookback_days=level_days) }}
    group by kol_id, date_day

),

discovery_days as (

    select * from {{ ref('int_discoveries_aggregated_to_kol_days') }}
    where {{ in_window('date_day', window, lookback_days=trailing_days) }}

),

kol_versions as (

    select * from {{ ref('dim_kols') }}

),

daily as (

    select
        kol_days.*,
        coalesce(comment_days.comments, 0) as comments_sampled,
        coalesce(comment_days.near_duplicate_comments, 0) as near_duplicate_comments,
        coalesce(comment_days.early_comments, 0) as early_comments,
        coalesce(comment_days.distinct_commenters, 0) as distinct_commenters,
        coalesce(comment_days.distinct_texts, 0) as distinct_texts,
        coalesce(sales_days.products_listed, 0) as products_listed,
        coalesce(sales_days.units_sold, 0) as units_sold,
        coalesce(sales_days.gmv_usd, 0) as gmv_usd,
        coalesce(discovery_days.discoveries, 0) as discoveries,
        coalesce(discovery_days.trending_discoveries, 0) as trending_discoveries,
        -- What the success model forecasts for creators without a shop (ml.features.
        -- read_daily_outcomes reads the same sum): a counter that went down counts 0.
        greatest(coalesce(kol_days.likes_gained, 0), 0)
            + greatest(coalesce(kol_days.comments_gained, 0), 0)
            + greatest(coalesce(kol_days.shares_gained, 0), 0) as engagements

    from kol_days
    left join comment_days
        on kol_days.kol_id = comment_days.kol_id
        and kol_days.date_day = comment_days.date_day
    left join sales_days
        on kol_days.kol_id = sales_days.kol_id
        and kol_days.date_day = sales_days.date_day
    left join discovery_days
        on kol_days.kol_id = discovery_days.kol_id
        and kol_days.date_day = discovery_days.date_day

),

trailing as (

    select
        *,
        count(*) over last_days as active_days_window,
        sum(followers_delta) over last_days as followers_gained_window,
        max(followers_delta_pct) over last_days as max_followers_delta_pct_window,
        count_if(is_follower_jump) over last_days as follower_jump_days_window,
        sum(videos_published) over last_days as videos_published_window,
        sum(views_gained) over last_days as views_gained_window,
        sum(likes_gained) over last_days as likes_gained_window,
        sum(comments_gained) over last_days as comments_gained_window,
        sum(shares_gained) over last_days as shares_gained_window,
        sum(comments_sampled) over last_days as comments_sampled_window,
        sum(near_duplicate_comments) over last_days as near_duplicate_comments_window,
        sum(early_comments) over last_days as early_comments_window,
        sum(distinct_commenters) over last_days as distinct_commenters_window,
        max(products_listed) over last_days as products_listed_window,
        sum(units_sold) over last_days as units_sold_window,
        sum(gmv_usd) over last_days as gmv_usd_window,
        sum(discoveries) over last_days as discoveries_window,
        sum(trending_discoveries) over last_days as trending_discoveries_window,
        sum(engagements) over last_days as engagements_window,
        sum(engagements) over level_window as engagements_level,
        sum(gmv_usd) over level_window as gmv_usd_level,
        sum(followers_delta) over level_window as followers_gained_level,
        max(followers_delta_pct) over level_window as max_followers_delta_pct_level,
        count_if(followers_delta_pct >= {{ var('growth_day_pct') }}) over level_window
            as follower_growth_days_level,
        sum(views_gained) over level_window as views_gained_level,
        sum(likes_gained) over level_window as likes_gained_level,
        sum(comments_gained) over level_window as comments_gained_level,
        sum(comments_sampled) over level_window as comments_sampled_level,
        sum(near_duplicate_comments) over level_window as near_duplicate_comments_level,
        sum(early_comments) over level_window as early_comments_level,
        sum(distinct_commenters) over level_window as distinct_commenters_level,
        sum(distinct_texts) over level_window as distinct_texts_level

    from daily
    window
        last_days as (
            partition by kol_id
            order by date_day
            range between interval '{{ trailing_days }}' day preceding and current row
        ),
        level_window as (
            partition by kol_id
            order by date_day
            range between interval '{{ level_days }}' day preceding and current row
        )

),

final as (

    select
        trailing.kol_id,
        trailing.date_day,
        trailing.platform,

        ---------- scale
        trailing.followers,
        trailing.following,
        trailing.total_likes,
        trailing.posts,
        log10(trailing.followers + 1) as followers_log10,
        {{ safe_ratio('trailing.followers', 'trailing.following') }} as follower_following_ratio,
        {{ safe_ratio('trailing.total_likes', 'trailing.followers') }} as likes_per_follower,

        ---------- growth
        trailing.followers_delta,
        trailing.followers_delta_pct,
        trailing.followers_gained_window as followers_gained_7d,
        {{ safe_ratio('trailing.followers_gained_window', 'trailing.followers - trailing.followers_gained_window') }}
            as followers_growth_pct_7d,
        trailing.max_followers_delta_pct_window as max_followers_delta_pct_7d,
        trailing.follower_jump_days_window as follower_jump_days_7d,
        -- Bought followers do not watch: followers gained per thousand new views.
        {{ safe_ratio('1000 * trailing.followers_gained_window', 'trailing.views_gained_window') }}
            as followers_gained_per_1k_views_7d,

        -- The same over 28 days (see level_days above).
        {{ safe_ratio('trailing.followers_gained_level', 'trailing.followers - trailing.followers_gained_level') }}
            as followers_growth_pct_28d,
        trailing.max_followers_delta_pct_level as max_followers_delta_pct_28d,
        trailing.follower_growth_days_level as follower_growth_days_28d,
        {{ safe_ratio('1000 * trailing.followers_gained_level', 'trailing.views_gained_level') }}
            as followers_gained_per_1k_views_28d,

        ---------- engagement
        trailing.engagement_rate,
        trailing.engagement_rate_by_followers,
        trailing.views_per_follower,
        trailing.views_gained_window as views_gained_7d,
        {{ safe_ratio('trailing.views_gained_window', 'trailing.followers') }}
            as views_gained_per_follower_7d,
        {{ safe_ratio('trailing.likes_gained_window', 'trailing.views_gained_window') }}
            as like_rate_7d,
        {{ safe_ratio('trailing.comments_gained_window', 'trailing.views_gained_window') }}
            as comment_rate_7d,
        {{ safe_ratio('trailing.shares_gained_window', 'trailing.views_gained_window') }}
            as share_rate_7d,
        trailing.reported_engagement_rate,
        {{ safe_ratio('trailing.views_gained_level', 'trailing.followers') }}
            as views_gained_per_follower_28d,
        {{ safe_ratio('trailing.likes_gained_level', 'trailing.views_gained_level') }}
            as like_rate_28d,
        {{ safe_ratio('trailing.comments_gained_level', 'trailing.views_gained_level') }}
            as comment_rate_28d,

        ---------- audience authenticity (comments)
        trailing.comments_sampled_window as comments_sampled_7d,
        {{ safe_ratio('trailing.near_duplicate_comments_window', 'trailing.comments_sampled_window') }}
            as near_duplicate_share_7d,
        {{ safe_ratio('trailing.early_comments_window', 'trailing.comments_sampled_window') }}
            as early_comment_share_7d,
        {{ safe_ratio('trailing.distinct_commenters_window', 'trailing.comments_sampled_window') }}
            as distinct_commenter_share_7d,
        {{ safe_ratio('trailing.near_duplicate_comments_level', 'trailing.comments_sampled_level') }}
            as near_duplicate_share_28d,
        {{ safe_ratio('trailing.early_comments_level', 'trailing.comments_sampled_level') }}
            as early_comment_share_28d,
        {{ safe_ratio('trailing.distinct_commenters_level', 'trailing.comments_sampled_level') }}
            as distinct_commenter_share_28d,
        -- Bots vary their words but not endlessly: distinct texts per comment (per video-day).
        {{ safe_ratio('trailing.distinct_texts_level', 'trailing.comments_sampled_level') }}
            as distinct_text_share_28d,

        ---------- activity
        trailing.active_days_window as active_days_7d,
        trailing.videos_published_window as videos_published_7d,
        trailing.discoveries_window as discoveries_7d,
        trailing.trending_discoveries_window as trending_discoveries_7d,

        ---------- commerce
        trailing.products_listed_window > 0 as has_shop,
        trailing.products_listed_window as products_listed_7d,
        trailing.units_sold_window as units_sold_7d,
        trailing.gmv_usd_window as gmv_usd_7d,
        {{ safe_ratio('1000 * trailing.units_sold_window', 'trailing.views_gained_window') }}
            as units_per_1k_views_7d,

        ---------- level (success's naive forecasts, see ml.features.naive_forecasts)
        trailing.engagements_window as engagements_7d,
        trailing.engagements_level as engagements_28d,
        trailing.gmv_usd_level as gmv_usd_28d,

        ---------- profile (the version valid at the end of the day)
        kol_versions.profile_completeness,
        coalesce(kol_versions.is_verified, false) as is_verified,
        -- Account age proxy: the platform does not publish creation dates.
        date_diff('day', cast(kol_versions.first_seen_at at time zone 'UTC' as date), trailing.date_day)
            as days_since_first_seen

    from trailing
    left join kol_versions
        on trailing.kol_id = kol_versions.kol_id
        and kol_versions.valid_from < {{ day_end_utc('trailing.date_day') }}
        and (
            kol_versions.valid_to is null
            or kol_versions.valid_to >= {{ day_end_utc('trailing.date_day') }}
        )
    where {{ in_window('trailing.date_day', window) }}

)

select * from final
