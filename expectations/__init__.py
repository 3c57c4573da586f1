"""Great Expectations gates of the Bronze, Silver and Gold layers (see :mod:`expectations.gate`)."""

# The exit code of a Bronze or Silver job whose own gate failed, so that Airflow can tell bad
# data (fail at once, no retries) from a crash (retry). Light on purpose: DAG files import it.
GATE_FAILED_EXIT = 3
