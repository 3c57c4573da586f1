"""Gold: the dbt project in ``dbt_kol/`` run against Trino with the platform's settings."""
