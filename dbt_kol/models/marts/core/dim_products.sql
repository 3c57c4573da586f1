-- Shop products, one row each, with their latest listing details. Which creator sold how
-- much of it lives in fct_product_sales_daily: one product can be featured by several.

with

products as (

    select * from {{ ref('stg_silver__products') }}
    where product_id is not null

),

final as (

    select
        product_id,
        {{ last_non_null('product_title') }} as product_title,
        {{ last_non_null('seller_id') }} as seller_id,
        {{ last_non_null('category') }} as category,
        {{ last_non_null('currency') }} as currency,
        cast({{ last_non_null('price') }} as decimal(18, 2)) as current_price,
        count(distinct kol_id) as featuring_kols,
        min(observed_at) as first_seen_at,
        max(observed_at) as last_seen_at

    from products
    group by product_id

)

select * from final
