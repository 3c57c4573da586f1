"""bench.support.jfr records a Spark job through the session's own JVM and finds where its time
went."""

from __future__ import annotations

from pathlib import Path

from bench.support import jfr


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


def test_writing_files_starts_no_chmod_process(spark: object, tmp_path: Path) -> None:
    # Hadoop's own local file system starts a `chmod` for every file it creates when its
    # native library is missing; kol.spark points file:// at one that uses Java NIO instead.
    jvm = spark._jvm  # type: ignore[attr-defined]
    conf = spark._jsc.hadoopConfiguration()  # type: ignore[attr-defined]
    fs = jvm.org.apache.hadoop.fs.FileSystem.get(jvm.java.net.URI("file:///"), conf)
    assert fs.getClass().getName() == "io.kolplatform.hadoop.NioLocalFileSystem"
    out = tmp_path / "table"
    with jfr.recording(spark, tmp_path / "write.jfr") as path:  # type: ignore[arg-type]
        spark.range(10_000).repartition(4).write.parquet(out.as_uri())  # type: ignore[attr-defined]
    files = [p for p in out.iterdir() if p.name.startswith("part-")]
    assert len(files) == 4
    # Hadoop's default file permission (0666) less the umask it applies (022).
    assert {p.stat().st_mode & 0o777 for p in files} == {0o644}
    assert jfr.summarize(jfr.read_recording(path)).child_processes == 0
