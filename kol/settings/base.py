"""What every section of :class:`kol.settings.Settings` shares: the repository root, credential
helpers, the SQL identifier rule and the section base class."""

from __future__ import annotations

import os
import re
import secrets
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ClassVar

from pydantic import AfterValidator, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings

if TYPE_CHECKING:
    from kol.settings.root import Settings

REPO_ROOT = Path(__file__).resolve().parent.parent.parent

# A plain SQL identifier; also the pattern of the pipeline DAGs' gold_schema parameter.
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
_IDENTIFIER = re.compile(IDENTIFIER_PATTERN)


def identifier(value: str) -> str:
    """A schema, table or database name that is formatted into SQL (identifiers cannot be
    bound as parameters), so it must be a plain identifier."""
    if not _IDENTIFIER.match(value):
        raise ValueError(f"{value!r} is not a plain SQL identifier")
    return value


SqlIdentifier = Annotated[str, AfterValidator(identifier)]


# True while Settings() validates: its sections are linked to it afterwards, so a section made
# by its default factory must not build a Settings of its own meanwhile.
_BUILDING: ContextVar[bool] = ContextVar("kol_settings_building", default=False)


def building_settings() -> bool:
    return _BUILDING.get()


class Section(BaseSettings):
    """One layer's section of :class:`~kol.settings.Settings`, read from its own variables
    (``KOL_API_*``, ``KOL_ML_*`` ...).

    ``core`` is the Settings the section belongs to: what is not the layer's own (addresses,
    another layer's names) is read there, never declared twice. A section made on its own
    (``ApiSettings(port=...)``) gets a Settings built around it from the environment.
    """

    # The field of Settings that holds this section.
    section: ClassVar[str]
    _root: Settings | None = PrivateAttr(default=None)

    @property
    def core(self) -> Settings:
        if self._root is None:
            from kol.settings.root import Settings

            Settings(**{self.section: self})  # links itself as our root
        assert self._root is not None
        return self._root


def secret(value: SecretStr | None) -> str:
    """A credential setting's value; "" for a service that runs without authentication."""
    return value.get_secret_value() if value is not None else ""


def installation_secret(home: Path, name: str) -> str:
    """A random secret created once per installation, kept 0600 in ``$KOL_HOME/secrets``.

    Every process of the platform (the stack's services, Airflow tasks, the API, tests) reads
    the same file; the first to need it creates it. Written under a private name and linked
    into place so that two processes starting at once never see half a secret or two.
    """
    path = home / "secrets" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(24))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process won; use its secret
        finally:
            tmp.unlink()
    return path.read_text().strip()
