"""The one way every Spark job and test gets its configuration.

A job either runs in-process (``spark_session``), on the stack's Spark Connect server
(``spark_session`` with ``settings.spark_remote``: the pipeline's Airflow tasks), or is launched
by ``spark-submit`` (``kol jobs ...``, the DAG without a server) with ``spark_submit_args``; all
use ``spark_conf`` (the server through ``connect_server_conf``) so the Iceberg catalog, Kafka
connector and jars cannot differ between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kol.settings import Settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


# file:// through io.kolplatform.hadoop.NioLocalFileSystem (infra/maven/spark-udf): Hadoop's own
# starts a `chmod` process for every file it creates when its native library is missing, and
# pyspark ships none: 658 of them in one Silver run of 1.2M events. Silver alone, alternating,
# cold JVM: 21.6-21.8 s -> 19.8-20.4 s; warm 14.7-15.3 s -> 13.5-14.1 s. The class must be on
# the JVM's own class path, not only in spark.jars: spark-submit opens file:// before it loads
# those.
LOCAL_FILE_SYSTEM = "io.kolplatform.hadoop.NioLocalFileSystem"
UDF_JAR = "kol-spark-udf.jar"


def spark_jars(settings: Settings) -> list[Path]:
    jars = sorted(settings.spark_jars.glob("*.jar"))
    if not jars or not (settings.spark_jars / UDF_JAR).is_file():
        raise FileNotFoundError(
            f"no Spark jars or no {UDF_JAR} in {settings.spark_jars}: run `make setup` "
            "(Maven fetches and builds them)"
        )
    return jars


# - The parallel collector: Silver keeps each topic's parsed batch in the old
#   generation, and G1 ran some 50 concurrent cycles over it in one Silver run, competing with
#   the tasks for the two cores. Silver on 1.2M events, warm JVM: 28.3 s with G1, 23.0-25.0 s
#   with the parallel collector.
# - The driver's heap starts at its full size (-Xms, driver only: an executor's size is its
#   own). Grown on demand from a small start, the parallel collector ran 8 full collections
#   (1.5 s of pauses) in one Silver run; 1.2M events, cold JVM: 29.4-30.8 s -> 28.6-29.3 s.
BATCH_JAVA_OPTIONS = "-XX:+UseParallelGC"


def spark_conf(settings: Settings) -> dict[str, str]:
    """The stack's Spark configuration. Pure: builds strings only (DAG files call it at parse
    time, where no I/O may happen), so the jars are a glob Spark expands itself."""
    cat = f"spark.sql.catalog.{settings.iceberg_catalog_name}"
    udf_jar = str(settings.spark_jars / UDF_JAR)
    return {
        "spark.master": settings.spark_master,
        "spark.jars": f"{settings.spark_jars}/*.jar",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.sql.session.timeZone": "UTC",
        # Jobs run the topics side by side. Without a pool set per thread, FAIR puts them all
        # in the default pool, which runs its jobs first in, first out: small topics finish
        # last. A pool per topic thread was measured (1.2M events, three alternating runs
        # each: Bronze 58-69k vs 68-70k records/s, Silver 52-54k vs 52-57k) and gave nothing,
        # as the cores are busy either way, so the jobs share the default pool.
        "spark.scheduler.mode": "FAIR",
        "spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions",
        "spark.sql.defaultCatalog": settings.iceberg_catalog_name,
        cat: "org.apache.iceberg.spark.SparkCatalog",
        f"{cat}.type": "jdbc",
        f"{cat}.uri": settings.catalog_jdbc_url,
        f"{cat}.jdbc.user": settings.pg_user,
        f"{cat}.jdbc.password": settings.pg_password.get_secret_value(),
        # No table cache: other engines (Trino, pyiceberg, other sessions) commit to the same
        # tables while a session runs. A cached table stays at the snapshot it was loaded at
        # until 30 s after its last use, so a long-lived session (the Spark Connect server, a
        # test's or the streaming job's) could miss a commit: a Bronze run after rows were
        # deleted through Trino found the deleted rows' offsets and landed nothing.
        f"{cat}.cache-enabled": "false",
        # Same table layout as Trino and pyiceberg; V0 would hide views and confuse Trino.
        f"{cat}.jdbc.schema-version": "V1",
        f"{cat}.warehouse": settings.warehouse.as_uri(),
        "spark.driver.extraJavaOptions": f"{BATCH_JAVA_OPTIONS} -Xms{settings.spark_driver_memory}",
        "spark.executor.extraJavaOptions": BATCH_JAVA_OPTIONS,
        "spark.hadoop.fs.file.impl": LOCAL_FILE_SYSTEM,
        "spark.driver.extraClassPath": udf_jar,
        "spark.executor.extraClassPath": udf_jar,
        "spark.ui.showConsoleProgress": "false",
        "spark.ui.enabled": "false",
        **(
            {
                "spark.driver.host": settings.spark_driver_host,
                "spark.driver.bindAddress": settings.spark_driver_host,
            }
            if settings.spark_driver_host
            else {}
        ),
    }


def submit_conf(settings: Settings) -> dict[str, str]:
    """:func:`spark_conf` without its secrets, for a spark-submit command line (which `ps`
    shows) and the operator arguments Airflow renders in its UI. The job's own
    :func:`spark_session` adds them in the driver, from the settings."""
    conf = spark_conf(settings)
    conf.pop(f"spark.sql.catalog.{settings.iceberg_catalog_name}.jdbc.password")
    return conf


# What a Spark Connect client may set on its session; everything else (catalog, jars, memory)
# is the server's own configuration.
SESSION_CONF = ("spark.sql.shuffle.partitions", "spark.sql.session.timeZone")
CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def connect_url(settings: Settings) -> str:
    """The address of the local stack's Spark Connect server (without its token)."""
    # A client sends its token over plain TCP only to "localhost" (gRPC local credentials);
    # to any other name it would need TLS.
    host = "localhost" if settings.bind_host in ("127.0.0.1", "localhost") else settings.bind_host
    return f"sc://{host}:{settings.spark_connect_port}"


def connect_token(settings: Settings) -> str:
    return settings.spark_connect_token.get_secret_value() if settings.spark_connect_token else ""


def with_token(url: str, settings: Settings) -> str:
    """``url`` carrying the server's token, for a client (never for a command line or a log)."""
    token = connect_token(settings)
    if not token or ";token=" in url:
        return url
    return f"{url};token={token}" if "/;" in url else f"{url.rstrip('/')}/;token={token}"


def connect_server_conf(settings: Settings) -> dict[str, str]:
    """:func:`spark_conf` for a long-lived Spark Connect server that runs every batch task.

    Its Iceberg catalog caches no table, as :func:`spark_conf` has it: the server lives for
    days while other writers commit to the same tables.
    """
    conf = spark_conf(settings)
    token = connect_token(settings)
    return {
        **conf,
        "spark.connect.grpc.binding.address": settings.bind_host,
        "spark.connect.grpc.binding.port": str(settings.spark_connect_port),
        # A task's session (its temporary views, checkpoints) is released when the task
        # stops it; one a killed task left behind goes after this much idle time.
        "spark.connect.session.manager.defaultSessionTimeout": "30min",
        **({"spark.connect.authenticate.token": token} if token else {}),
    }


def spark_session(
    app_name: str, settings: Settings, extra: dict[str, str] | None = None
) -> SparkSession:
    """A session with the stack's configuration: on the Spark Connect server when
    ``settings.spark_remote`` names one, else a driver in this process (spark-submit, tests)."""
    from pyspark.sql import SparkSession

    if settings.spark_remote:
        conf = spark_conf(settings)
        remote = SparkSession.builder.remote(with_token(settings.spark_remote, settings))
        for key, value in {**{k: conf[k] for k in SESSION_CONF}, **(extra or {})}.items():
            remote = remote.config(key, value)
        return remote.getOrCreate()
    # Listed, not globbed: spark-submit expands a glob, SparkContext.addJar does not. Listing
    # them also fails early, naming the folder, when they are missing.
    jars = ",".join(str(j) for j in spark_jars(settings))
    builder = SparkSession.builder.appName(app_name)
    for key, value in {**spark_conf(settings), "spark.jars": jars, **(extra or {})}.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def spark_submit_args(
    settings: Settings, application: str | Path, app_args: list[str], name: str | None = None
) -> list[str]:
    """Arguments after `spark-submit` for one job, with the stack's configuration."""
    conf = submit_conf(settings)
    args = ["--master", conf.pop("spark.master"), "--jars", conf.pop("spark.jars")]
    args += ["--driver-memory", conf.pop("spark.driver.memory")]
    if name:
        args += ["--name", name]
    for key, value in conf.items():
        args += ["--conf", f"{key}={value}"]
    return [*args, str(application), *app_args]
