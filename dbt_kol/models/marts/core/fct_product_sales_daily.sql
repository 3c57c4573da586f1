{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['product_id', 'kol_id', 'date_day'],
        incremental_predicates=merge_predicates(),
        on_schema_change='append_new_columns',
        properties={'partitioning': "ARRAY['month(date_day)']"},
    )
}}

{%- set window = gold_window() %}

with

products as (

    select * from {{ ref('stg_silver__products') }}
    where product_id is not null
        and {{ in_window('observed_date', window, lookback_days=var('max_gap_days')) }}

),

currencies as (

    select * from {{ ref('currencies') }}

),

-- The product page shows units sold so far; the day's highest reading is its end-of-day value.
product_days as (

    select
        product_id,
        kol_id,
        observed_date as date_day,
        platform,
        count(*) as product_snapshots,
        max(sold_count) as sold_count,
        cast({{ last_non_null('price') }} as decimal(18, 2)) as price,
        {{ last_non_null('currency') }} as currency,
        {{ last_non_null('video_id') }} as video_id

    from products
    group by product_id, kol_id, observed_date, platform

),

with_previous as (

    select
        *,
        lag(date_day) over by_listing as previous_date,
        lag(sold_count) over by_listing as previous_sold_count

    from product_days
    window by_listing as (partition by product_id, kol_id order by date_day)

),

sales as (

    select
        *,
        -- The first sighting of a listing says nothing about when its earlier sales happened.
        if(
            date_diff('day', previous_date, date_day) <= {{ var('max_gap_days') }},
            sold_count - previous_sold_count
        ) as units_sold

    from with_previous
    where {{ in_window('date_day', window) }}

),

final as (

    select
        sales.product_id,
        sales.kol_id,
        sales.date_day,
        sales.platform,
        sales.video_id,
        sales.product_snapshots,
        sales.sold_count,
        sales.units_sold,
        sales.price,
        sales.currency,
        cast(sales.units_sold * sales.price as decimal(38, 2)) as gmv,
        cast(cast(sales.units_sold * sales.price as double) * currencies.usd_per_unit as decimal(38, 2))
            as gmv_usd

    from sales
    left join currencies
        on sales.currency = currencies.currency

)

select * from final
