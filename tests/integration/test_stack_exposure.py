"""Nothing of the local stack listens beyond the loopback interface."""

from __future__ import annotations

import ipaddress

import psutil
import pytest

from kol.settings import Settings
from shell.stack import manager

pytestmark = pytest.mark.integration


def listening(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every listening TCP socket of ``pid`` and its descendants."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []
    out = []
    for proc in procs:
        try:
            conns = proc.net_connections(kind="tcp")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        out += [(c.laddr.ip, c.laddr.port) for c in conns if c.status == psutil.CONN_LISTEN]
    return out


def loopback(ip: str) -> bool:
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    return addr.is_loopback


def test_every_stack_port_binds_to_loopback(settings: Settings, spark: object) -> None:
    """Each running service's process tree (and this session's Spark driver, as the jobs run
    it) listens on 127.0.0.1 or ::1 only: no wildcard (0.0.0.0, ::), no external address."""
    import os

    seen: dict[str, list[tuple[str, int]]] = {}
    for st in manager.status(settings, None):
        if st.running and st.pid:
            seen[st.service] = listening(st.pid)
    seen["spark-driver (tests)"] = listening(os.getpid())
    assert {"postgres", "kafka", "trino", "redis", "airflow-scheduler"} <= set(seen), seen
    assert seen["trino"], "trino listens nowhere?"
    open_ = {name: [a for a in socks if not loopback(a[0])] for name, socks in seen.items()}
    assert not any(open_.values()), {k: v for k, v in open_.items() if v}
