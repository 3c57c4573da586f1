-- Shop sales by creator over the last 30 days: units, value in USD, products, the best
-- seller and units per 1,000 views gained (how well the audience converts).

with

as_of as (

    select max(date_day) as last_day from {{ ref('fct_product_sales_daily') }}

),

sales as (

    select fct_product_sales_daily.*
    from {{ ref('fct_product_sales_daily') }} as fct_product_sales_daily
    cross join as_of
    where fct_product_sales_daily.date_day > as_of.last_day - interval '30' day
        and fct_product_sales_daily.date_day <= as_of.last_day

),

per_product as (

    select kol_id, product_id, sum(units_sold) as units_sold, sum(gmv_usd) as gmv_usd
    from sales
    group by kol_id, product_id

),

per_kol as (

    select
        kol_id,
        count(*) as products,
        sum(units_sold) as units_sold,
        sum(gmv_usd) as gmv_usd,
        max_by(product_id, coalesce(units_sold, 0)) as best_product_id

    from per_product
    group by kol_id

),

views as (

    select fct_kol_daily.kol_id, sum(fct_kol_daily.views_gained) as views_gained
    from {{ ref('fct_kol_daily') }} as fct_kol_daily
    cross join as_of
    where fct_kol_daily.date_day > as_of.last_day - interval '30' day
        and fct_kol_daily.date_day <= as_of.last_day
    group by fct_kol_daily.kol_id

)

select
    kols.platform,
    kols.username,
    per_kol.products,
    per_kol.units_sold,
    per_kol.gmv_usd,
    products.product_title as best_product,
    round(1000 * cast(per_kol.units_sold as double) / nullif(views.views_gained, 0), 2)
        as units_per_1k_views

from per_kol
inner join {{ ref('dim_kols') }} as kols
    on per_kol.kol_id = kols.kol_id
    and kols.is_current
left join {{ ref('dim_products') }} as products
    on per_kol.best_product_id = products.product_id
left join views
    on per_kol.kol_id = views.kol_id
order by per_kol.gmv_usd desc nulls last
limit 50
