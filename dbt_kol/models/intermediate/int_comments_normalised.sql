-- Comments with their text reduced to letters and digits, lower case: bot bursts repeat one
-- line with varying punctuation, emoji and case ("Great video!!! 😍" / "great video").

with

comments as (

    select * from {{ ref('stg_silver__comments') }}

),

normalised as (

    select
        event_id,
        comment_id,
        video_id,
        kol_id,
        platform,
        commenter,
        comment_text,
        -- An emoji-only comment has no letters left; it then stands for itself.
        coalesce(
            nullif(regexp_replace(lower(comment_text), '[^\p{L}\p{N}]+', ''), ''),
            comment_text
        ) as normalised_text,
        commented_at,
        observed_date as date_day

    from comments

)

select * from normalised
