"""What every service of the local stack has in common, and the helpers their configurations share.

Every service is one foreground process supervised by ``shell.stack.manager``; configuration files
are generated from :class:`kol.settings.Settings` into ``$KOL_HOME`` on every start, so changing a
setting and restarting is all it takes.
"""

from __future__ import annotations

import os
import signal
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kol.settings import Settings


class ServiceError(RuntimeError):
    """A service could not be prepared or started; the message says which and why."""


@dataclass
class Health:
    ok: bool
    detail: str = ""


class Service(ABC):
    name: str
    #: Services that must be healthy before this one starts.
    requires: tuple[str, ...] = ()
    stop_signal: signal.Signals = signal.SIGTERM

    def __init__(self, settings: Settings) -> None:
        self.s = settings

    # ---- locations ---------------------------------------------------------------------
    @property
    def log_file(self) -> Path:
        return self.s.log_dir / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.s.run_dir / f"{self.name}.pid"

    @property
    def data_dir(self) -> Path:
        return self.s.data_dir / self.name

    # ---- what each service defines -----------------------------------------------------
    @property
    @abstractmethod
    def address(self) -> str:
        """Where clients reach it, as shown by `kol stack status`."""

    @abstractmethod
    def ports(self) -> list[int]:
        """Ports it listens on locally; checked for other owners before starting."""

    @abstractmethod
    def command(self) -> list[str]:
        """The foreground command line of the daemon."""

    @abstractmethod
    def health(self) -> Health:
        """A real request to the service (not just an open port)."""

    def prepare(self) -> None:  # noqa: B027 - optional hook
        """Write configuration and initialise storage; idempotent."""

    def after_start(self) -> None:  # noqa: B027 - optional hook
        """Bootstrap objects (databases, catalog tables) once healthy; idempotent."""

    def run_as(self) -> str | None:
        return None

    def cwd(self) -> Path | None:
        return None

    def env(self) -> dict[str, str]:
        return {}


def write_config(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def write_private(path: Path, text: str) -> None:
    """A configuration file that holds a secret: readable by its owner only (0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    path.chmod(0o600)  # an older file may have been created with a wider mode


def properties(values: Mapping[str, object]) -> str:
    return "".join(f"{k}={v}\n" for k, v in values.items())
