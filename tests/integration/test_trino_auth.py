"""Trino answers only clients that authenticate: with the password over HTTPS, never over HTTP."""

from __future__ import annotations

import contextlib

import pytest
import requests
import trino

from kol.settings import Settings
from kol.trino import trino_client_args, trino_connection

pytestmark = pytest.mark.integration


@pytest.fixture
def secured(settings: Settings) -> Settings:
    if not settings.trino_auth:
        pytest.skip("this stack runs Trino without authentication (KOL_TRINO_PASSWORD='')")
    return settings


def _statement(url: str, settings: Settings, **kwargs: object) -> requests.Response:
    """POST /v1/statement, what every Trino client does to run a query."""
    return requests.post(
        f"{url}/v1/statement",
        data="SELECT 1",
        headers={"X-Trino-User": settings.trino_user},
        verify=str(settings.trino_ca_file),
        timeout=10,
        **kwargs,  # type: ignore[arg-type]
    )


def test_the_platforms_connection_authenticates_and_queries(secured: Settings) -> None:
    with contextlib.closing(trino_connection(secured)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT 1")
        assert cur.fetchall() == [[1]]


def test_https_without_the_password_gets_nothing(secured: Settings) -> None:
    assert _statement(secured.trino_url, secured).status_code == 401
    wrong = _statement(secured.trino_url, secured, auth=(secured.trino_user, "not-the-password"))
    assert wrong.status_code == 401
    # Nor through the client library: the same connection as the platform's, minus the auth.
    args = trino_client_args(secured)
    del args["auth"]
    conn = trino.dbapi.connect(
        host=secured.trino_host,
        port=secured.trino_port,
        user=secured.trino_user,
        max_attempts=1,
        **args,
    )
    with contextlib.closing(conn), pytest.raises(trino.exceptions.HttpError, match="401"):
        conn.cursor().execute("SELECT 1")


def test_plain_http_gets_nothing_even_with_the_password(secured: Settings) -> None:
    # The HTTP port carries Trino's internal communication only: clients are refused (403),
    # and a password is never accepted over it.
    internal = f"http://{secured.bind_host}:{secured.trino_internal_port}"
    assert _statement(internal, secured).status_code == 403
    assert secured.trino_password is not None
    password = secured.trino_password.get_secret_value()
    assert _statement(internal, secured, auth=(secured.trino_user, password)).status_code == 403
    # Plain HTTP to the client port: not a query either (TLS only there).
    try:
        status = _statement(f"http://{secured.trino_host}:{secured.trino_port}", secured)
    except requests.ConnectionError:
        return
    assert status.status_code >= 400


def test_no_query_api_without_credentials(secured: Settings) -> None:
    """Beyond /v1/statement: the query list, nodes and the UI's API want credentials too."""
    for path in ("/v1/query", "/v1/node", "/ui/api/stats"):
        r = requests.get(
            f"{secured.trino_url}{path}",
            headers={"X-Trino-User": secured.trino_user},
            verify=str(secured.trino_ca_file),
            timeout=10,
        )
        assert r.status_code in (401, 403), (path, r.status_code)
