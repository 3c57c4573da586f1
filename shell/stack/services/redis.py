"""Redis: the hot path's live state and the API's cache."""

from __future__ import annotations

import shutil
from pathlib import Path

from kol.settings import secret
from shell.stack.services.base import Health, Service, write_private


class Redis(Service):
    name = "redis"

    @property
    def address(self) -> str:
        return f"redis://{self.s.redis_host}:{self.s.redis_port}/{self.s.redis_db}"

    def ports(self) -> list[int]:
        return [self.s.redis_port]

    @property
    def config_file(self) -> Path:
        return self.s.home / "conf" / "redis" / "redis.conf"

    def prepare(self) -> None:
        # The password goes in a 0600 file, not on the command line where `ps` shows it.
        self.data_dir.mkdir(parents=True, exist_ok=True)
        password = secret(self.s.redis_password)
        lines = [
            f"bind {self.s.bind_host}",
            f"port {self.s.redis_port}",
            f"dir {self.data_dir}",
            "daemonize no",
            "save 300 100",
            "appendonly no",
            # Without a password Redis only answers loopback; with one it must be required.
            *([f'requirepass "{password}"'] if password else []),
        ]
        write_private(self.config_file, "\n".join(lines) + "\n")

    def command(self) -> list[str]:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        return [binary, str(self.config_file)]

    def health(self) -> Health:
        import redis

        try:
            client = redis.Redis.from_url(self.s.redis_url, socket_timeout=2)
            info = client.info("server")
            client.ping()
            return Health(True, f"redis {info.get('redis_version')}")
        except Exception as exc:
            return Health(False, str(exc))
