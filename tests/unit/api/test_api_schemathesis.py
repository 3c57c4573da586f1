"""Requests generated from the OpenAPI schema (schemathesis): no 5xx, and every answer conforms to
the schema (documented status codes, content types and bodies), with every backing service
faked and up. Driven by hand rather than through schemathesis' pytest plugin, whose fixture
support does not work with this pytest (9.x)."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.unit.api.conftest import FakeModel

EXAMPLES = 25

# Rules across fields (start <= end, min_followers <= max_followers, username needs platform,
# days within 2000-2100) cannot be written in OpenAPI: there a schema-valid request may rightly
# get a 422, so the "schema-valid data is accepted" check is off for these routes only.
CROSS_FIELD_RULES = {
    "/api/v1/kols",
    "/api/v1/kols/{platform}/{username}/timeseries",
    "/api/v1/alerts",
    "/api/v1/stats/platform",
}


def operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("index", range(20))
def test_generated_requests_get_documented_answers(api: Any, index: int) -> None:
    api.load_model("trust")
    api.load_model("success")
    api.load_model("account", FakeModel("kol_trust_account", "1"))
    api.limiter.limit = 10**9
    ops = operations(api.app)
    assert len(ops) == 20, "a route was added or removed: update the parametrize range"
    op = ops[index]
    key = api.client.headers["X-API-Key"]

    @given(case=op.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        excluded = [positive_data_acceptance] if op.path in CROSS_FIELD_RULES else []
        case.call_and_validate(headers={"X-API-Key": key}, excluded_checks=excluded)

    run()
