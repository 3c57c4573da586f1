"""Reading an `airflow dags test` run's output: which tasks ran and how long each took."""

from __future__ import annotations

from pathlib import Path

from shell.pipeline_cli import task_durations, tasks_run

LOG = """\
2026-11-22T07:23:05.446502Z [info     ] [DAG TEST] starting task_id=kafka_to_bronze map_index=-1
2026-11-22T07:23:13.177958Z [info     ] Task started  previous_state=queued
2026-11-22T07:24:08.153459Z [info     ] [DAG TEST] end task task_id=kafka_to_bronze map_index=-1
2026-11-22T07:24:08.181817Z [info     ] [DAG TEST] starting task_id=bronze_gate map_index=-1
2026-11-22T07:25:24.327916Z [info     ] [DAG TEST] end task task_id=bronze_gate map_index=-1
2026-11-22T07:25:24.352241Z [info     ] [DAG TEST] starting task_id=bronze_to_silver map_index=-1
"""


def test_durations_pair_each_task_start_with_its_end(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(LOG)
    took = task_durations(log)
    assert list(took) == ["kafka_to_bronze", "bronze_gate"]  # the unfinished task is left out
    assert round(took["kafka_to_bronze"], 3) == 62.707
    assert round(took["bronze_gate"], 3) == 76.146
    assert tasks_run(log) == {"kafka_to_bronze", "bronze_gate", "bronze_to_silver"}


def test_a_missing_log_has_no_tasks(tmp_path: Path) -> None:
    assert task_durations(tmp_path / "absent.log") == {}
    assert tasks_run(tmp_path / "absent.log") == set()
