-- Public counters only grow; a drop between two observed days is a scraper misreading or a
-- platform correction (removed fake views). Worth a look, not worth stopping the pipeline.
{{ config(severity='warn') }}

select video_id, date_day, views_delta, likes_delta
from {{ ref('fct_video_daily') }}
where delta_baseline = 'previous_day'
    and (views_delta < 0 or likes_delta < 0)
