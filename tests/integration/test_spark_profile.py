"""kol.jfr records a Spark job through the session's own JVM and finds where its time went."""

from __future__ import annotations

from pathlib import Path

from kol import jfr


def test_a_recorded_job_shows_the_component_it_spent_its_time_in(
    spark: object, tmp_path: Path
) -> None:
    with jfr.recording(spark, tmp_path / "job.jfr") as path:  # type: ignore[arg-type]
        matched = (
            spark.range(3_000_000)  # type: ignore[attr-defined]
            .selectExpr("cast(id * 7919 as string) rlike '^[0-9]*(13|57)[0-9]*9$' AS m")
            .where("m")
            .count()
        )
    assert matched > 0
    assert path.stat().st_size > 0
    profile = jfr.summarize(jfr.read_recording(path))
    assert profile.samples > 0
    shares = dict(profile.components)
    assert shares.get("regular expressions", 0) > 0.1, profile.components
