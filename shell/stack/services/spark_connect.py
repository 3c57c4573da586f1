"""Spark Connect: one long-lived Spark driver that the pipeline's Bronze and Silver tasks run on.

A spark-submit per task paid a JVM start, a Spark and Iceberg start and a cold JIT every time,
some 40 s of a small day's run before a record moved. The tasks connect to this server instead
(``KOL_SPARK_REMOTE``, which the stack sets for Airflow) and run the same job code, each in a
session of its own. `kol jobs` and ``spark-submit`` to a cluster stay as they were.
"""

from __future__ import annotations

import os
import re
import sys
import warnings
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

            # No retries: a probe answers now (the supervisor polls). The client's default
            # policy retries an unreachable server for at least 10 minutes, which `kol stack
            # status` on a stopped stack then waited before saying it was down.
            client = SparkConnectClient(
                with_token(connect_url(self.s), self.s), retry_policy={"max_retries": 0}
            )
            try:
                with warnings.catch_warnings():  # "[RETRIES_EXCEEDED]" after no retry at all
                    warnings.simplefilter("ignore")
                    (catalog,) = client.get_configs("spark.sql.defaultCatalog")
            finally:
                client.close()
            return Health(True, f"catalog {catalog}")
        except Exception as exc:
            # A gRPC error's first line is only "<_InactiveRpcError of RPC that terminated
            # with:"; what went wrong is in its details.
            text = str(exc)
            found = re.search(r'details = "([^"]*)"', text)
            detail = found.group(1) if found else text.splitlines()[0]
            return Health(False, f"{type(exc).__name__}: {detail[:200]}")
