"""How the API is served: one definition for ``kol api``, the stack's service and the benchmark."""

from __future__ import annotations

import sys

from kol.settings import ApiSettings

APP = "api.main:create_app"


def uvicorn_options(s: ApiSettings) -> dict[str, object]:
    """Keyword arguments of ``uvicorn.run(APP, ...)``."""
    return {
        "host": s.bind_host,
        "port": s.port,
        "workers": s.workers,
        "factory": True,
        # The app writes its own JSON access log (api.observability).
        "access_log": False,
        "log_level": "warning",
        "proxy_headers": True,
    }


def uvicorn_command(s: ApiSettings) -> list[str]:
    """The same server as a command line, for a supervised process."""
    o = uvicorn_options(s)
    return [
        sys.executable, "-m", "uvicorn", "--factory", APP,
        "--host", str(o["host"]), "--port", str(o["port"]), "--workers", str(o["workers"]),
        "--no-access-log", "--log-level", str(o["log_level"]), "--proxy-headers",
    ]  # fmt: skip
