"""Where a Spark job's JVM time goes: a Java Flight Recorder profile, summarised.

A benchmark wraps a phase in :func:`recording` (the JDK's own ``jdk.jfr.Recording``, driven
through the session's JVM: no agent to install, no restart) and prints :func:`summarize` of
it: each component's share of the execution samples that have one of its frames on the stack
(a sample counts once per component, so shares overlap and need not add to 100 %), and the
hottest frames by self time. Samples cover Java threads only: JIT compiler and GC threads are
native and do not appear, which is why the JIT's own compilations are listed apart.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Substrings of a frame's class or method that mark a component of a Silver/Bronze job.
COMPONENTS: dict[str, tuple[str, ...]] = {
    "JSON parsing (from_json, kol_json_fields)": (
        "JacksonParser",
        "JsonToStructs",
        "io.kolplatform.spark.JsonFields",
    ),
    "display-count function": ("io.kolplatform.spark.DisplayCounts",),
    "regular expressions": ("java.util.regex.",),
    "Parquet write (Iceberg writers)": ("SparkParquetWriters", "ParquetValueWriters"),
    "Parquet read": ("VectorizedParquet", "ParquetReader", "parquet.hadoop.ParquetFileReader"),
    "shuffle write": ("ShuffleWriter",),
    "cached blocks (MemoryStore)": ("storage.memory.MemoryStore",),
    "size estimation of cached blocks": ("util.SizeEstimator",),
    "code generation (janino)": ("org.codehaus.janino.",),
    "query planning (catalyst rules)": ("catalyst.rules.RuleExecutor",),
    "class loading from jars": ("java.util.zip.ZipFile", "URLClassPath$JarLoader"),
    "child processes (Hadoop Shell)": ("org.apache.hadoop.util.Shell",),
}

_FRAME = re.compile(r"^\s+([\w.$<>/]+)\(", re.M)
_DURATION = re.compile(r"duration = ([\d.]+) (ns|us|ms|s)\b")
_UNIT_MS = {"ns": 1e-6, "us": 1e-3, "ms": 1.0, "s": 1000.0}


@contextmanager
def recording(spark: SparkSession, path: Path) -> Iterator[Path]:
    """Record the driver JVM (in local mode: the tasks too) with the JDK's ``profile``
    settings while the block runs, and write the recording to ``path``."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    rec = jvm.jdk.jfr.Recording(jvm.jdk.jfr.Configuration.getConfiguration("profile"))
    rec.start()
    try:
        yield path
    finally:
        rec.stop()
        rec.dump(jvm.java.io.File(str(path)).toPath())
        rec.close()


@dataclass(frozen=True)
class Profile:
    samples: int
    components: list[tuple[str, float]]  # (component, share of samples), largest first
    hottest: list[tuple[str, float]]  # (frame, share of samples as the top frame)
    compilation_ms: float  # JIT compilations long enough to be recorded, summed
    child_processes: int


def _events(text: str, name: str) -> list[str]:
    return text.split(f"{name} {{")[1:]


def summarize(text: str, top: int = 12) -> Profile:
    """Summarise ``jfr print`` output holding jdk.ExecutionSample (with stacks deep enough
    to reach the components' frames), jdk.Compilation and jdk.ProcessStart events."""
    samples = _events(text, "jdk.ExecutionSample")
    inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    for event in samples:
        frames = _FRAME.findall(event)
        if not frames:
            continue
        self_time[frames[0]] += 1
        stack = "\n".join(frames)
        for component, marks in COMPONENTS.items():
            if any(mark in stack for mark in marks):
                inclusive[component] += 1
    n = max(len(samples), 1)
    compilation_ms = 0.0
    for event in _events(text, "jdk.Compilation"):
        m = _DURATION.search(event)
        if m:
            compilation_ms += float(m.group(1)) * _UNIT_MS[m.group(2)]
    return Profile(
        samples=len(samples),
        components=[(c, k / n) for c, k in inclusive.most_common()],
        hottest=[(f, k / n) for f, k in self_time.most_common(top)],
        compilation_ms=compilation_ms,
        child_processes=len(_events(text, "jdk.ProcessStart")),
    )


def read_recording(path: Path, stack_depth: int = 64) -> str:
    """``jfr print`` of the events :func:`summarize` reads; fails naming the file."""
    jfr = shutil.which("jfr")
    if jfr is None:
        raise FileNotFoundError("the JDK's `jfr` tool is not on PATH (it ships with the JDK)")
    if not path.is_file():
        raise FileNotFoundError(
            f"no flight recording at {path}: make one with bench.support.jfr.recording"
        )
    events = "jdk.ExecutionSample,jdk.Compilation,jdk.ProcessStart"
    done = subprocess.run(
        [jfr, "print", "--stack-depth", str(stack_depth), "--events", events, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"jfr print {path} failed: {done.stderr.strip()[-500:]}")
    return done.stdout
