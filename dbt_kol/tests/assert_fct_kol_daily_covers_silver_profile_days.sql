-- Every creator-day with a profile snapshot in Silver has its row in fct_kol_daily, within the
-- days Gold has been built for. A miss means Silver received data for a day older than the
-- rebuild window (late_days): rebuild that day with `kol gold build --start <day>`.
{{ config(severity='warn') }}

with

silver_days as (

    select distinct kol_id, observed_date as date_day
    from {{ ref('stg_silver__profiles') }}

),

gold_days as (

    select kol_id, date_day
    from {{ ref('fct_kol_daily') }}
    where profile_snapshots > 0

),

built as (

    select min(date_day) as first_day, max(date_day) as last_day from gold_days

)

select silver_days.kol_id, silver_days.date_day
from silver_days
cross join built
left join gold_days
    on silver_days.kol_id = gold_days.kol_id
    and silver_days.date_day = gold_days.date_day
where silver_days.date_day between built.first_day and built.last_day
    and gold_days.kol_id is null
