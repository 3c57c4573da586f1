"""Spark Connect: one long-lived Spark driver that the pipeline's Bronze and Silver tasks run on.

A spark-submit per task paid a JVM start, a Spark and Iceberg start and a cold JIT every time,
some 40 s of a small day's run before a record moved. The tasks connect to this server instead
(``KOL_SPARK_REMOTE``, which the stack sets for Airflow) and run the same job code, each in a
session of its own. `kol jobs` and ``spark-submit`` to a cluster stay as they were.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from kol.spark import (
    CONNECT_SERVER_CLASS,
    connect_server_conf,
    connect_url,
    spark_jars,
    with_token,
)
from shell.stack.services.base import Health, Service, properties, write_private


class SparkConnect(Service):
    name = "spark-connect"
    # Its Iceberg catalog is in PostgreSQL; the jobs it runs read Kafka.
    requires = ("postgres", "kafka")

    @property
    def address(self) -> str:
        return connect_url(self.s)

    def ports(self) -> list[int]:
        return [self.s.spark_connect_port]

    @property
    def conf_file(self) -> Path:
        return self.s.home / "conf" / "spark-connect" / "spark-defaults.conf"

    def prepare(self) -> None:
        # A properties file, not --conf: the catalog's password and the server's token must not
        # show in `ps`.
        conf = connect_server_conf(self.s)
        conf["spark.jars"] = ",".join(str(j) for j in spark_jars(self.s))
        write_private(self.conf_file, properties(conf))

    def command(self) -> list[str]:
        return [
            str(Path(sys.executable).with_name("spark-submit")),
            "--properties-file",
            str(self.conf_file),
            "--class",
            CONNECT_SERVER_CLASS,
            "--name",
            "kol-spark-connect",
            "spark-internal",
        ]

    def env(self) -> dict[str, str]:
        venv_bin = str(Path(sys.executable).parent)
        return {
            # spark-submit finds the pyspark installation through the python first on PATH.
            "PATH": f"{venv_bin}:{os.environ.get('PATH', '')}",
            "PYSPARK_PYTHON": sys.executable,
        }

    def health(self) -> Health:
        # The client alone, not SparkSession.builder.remote(): that would switch this process
        # (the supervisor, or a test session) to Spark Connect for every later session.
        try:
            from pyspark.sql.connect.client import SparkConnectClient

            client = SparkConnectClient(with_token(connect_url(self.s), self.s))
            try:
                (catalog,) = client.get_configs("spark.sql.defaultCatalog")
            finally:
                client.close()
            return Health(True, f"catalog {catalog}")
        except Exception as exc:
            return Health(False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
