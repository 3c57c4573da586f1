-- A calendar of UTC days. Fixed bounds (vars dim_dates_start/end) rather than the data's
-- range: a fact dated outside them is a data error the relationships tests report.

with

days as (

    select date_day
    from unnest(
        sequence(
            date '{{ var("dim_dates_start") }}',
            date '{{ var("dim_dates_end") }}',
            interval '1' day
        )
    ) as spine (date_day)

),

final as (

    select
        date_day,
        year(date_day) as year,
        quarter(date_day) as quarter,
        month(date_day) as month,
        format_datetime(date_day, 'MMMM') as month_name,
        day(date_day) as day_of_month,
        day_of_year(date_day) as day_of_year,
        day_of_week(date_day) as iso_day_of_week,
        format_datetime(date_day, 'EEEE') as day_name,
        week(date_day) as iso_week,
        year_of_week(date_day) as iso_year,
        date_trunc('week', date_day) as week_start,
        date_trunc('month', date_day) as month_start,
        day_of_week(date_day) in (6, 7) as is_weekend

    from days

)

select * from final
