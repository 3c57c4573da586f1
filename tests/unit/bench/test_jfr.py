from pathlib import Path

import pytest

from bench.support import jfr


def _sample(*frames: str) -> str:
    lines = "\n".join(f"    {f}(Object) line: 1" for f in frames)
    return (
        f"jdk.ExecutionSample {{\n  startTime = 08:49:00.000\n  stackTrace = [\n{lines}\n  ]\n}}\n"
    )


PRINTED = (
    _sample(
        "com.fasterxml.jackson.core.sym.CharsToNameCanonicalizer.findSymbol",
        "org.apache.spark.sql.catalyst.json.JacksonParser.parse",
        "org.apache.spark.storage.memory.MemoryStore.putIterator",
    )
    + _sample(
        "java.util.regex.Pattern$Start.match",
        "io.kolplatform.spark.DisplayCounts.parseCount",
        "org.apache.spark.sql.catalyst.json.JacksonParser.parse",
    )
    + _sample("org.apache.iceberg.spark.data.SparkParquetWriters$StringWriter.write")
    + _sample("java.lang.Object.wait")
    + "jdk.Compilation {\n  duration = 250 ms\n}\njdk.Compilation {\n  duration = 1.5 s\n}\n"
    + "jdk.CompilationFailure {\n  duration = 9 s\n}\n"
    + 'jdk.ProcessStart {\n  command = "chmod 0644 /x.parquet"\n}\n'
)


def test_a_component_counts_once_per_sample_it_is_on_the_stack_of() -> None:
    profile = jfr.summarize(PRINTED)
    shares = dict(profile.components)
    assert profile.samples == 4
    # JacksonParser twice in one sample and once in another: 2 of 4 samples
    assert shares["JSON parsing (from_json, kol_json_fields)"] == pytest.approx(0.5)
    assert shares["regular expressions"] == pytest.approx(0.25)
    assert shares["display-count function"] == pytest.approx(0.25)
    assert shares["Parquet write (Iceberg writers)"] == pytest.approx(0.25)
    assert "shuffle write" not in shares
    assert profile.components[0][0] == "JSON parsing (from_json, kol_json_fields)"


def test_hottest_frames_are_by_self_time_and_compilations_are_summed() -> None:
    profile = jfr.summarize(PRINTED, top=2)
    assert len(profile.hottest) == 2
    assert all(share == pytest.approx(0.25) for _, share in profile.hottest)
    # a failed compilation is another event, not counted as compile time
    assert profile.compilation_ms == pytest.approx(1750.0)
    assert profile.child_processes == 1


def test_no_samples_is_an_empty_profile_not_a_division_by_zero() -> None:
    profile = jfr.summarize("")
    assert (profile.samples, profile.components, profile.hottest) == (0, [], [])


def test_a_missing_recording_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no flight recording at .*gone\.jfr"):
        jfr.read_recording(tmp_path / "gone.jfr")
