"""Silver: Bronze records parsed against their topic's contract, typed, deduplicated.

Every Bronze record of an interval ends in exactly one of three places: its Silver table, the
duplicates count (the same event, its ``event_id`` and content, already in Silver from another
Kafka record), or ``silver.rejects`` with its reason: it failed its contract, or it is a
conflict (other content under an ``event_id`` Silver already has).

The job (:mod:`spark_jobs.bronze_to_silver`) runs each topic's batch through these modules in
turn: ``parse`` (records against their contract: typed columns, or a reject with its reason),
``dedup`` (one row per event; a batch's repeats counted, its conflicts made rejects), ``write``
(the Iceberg tables: appends of new events only, conflicts with what the table holds) and
``account`` (where every Bronze record went, and whether that balances).
"""
