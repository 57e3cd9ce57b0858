"""OpenAPI-driven fuzzing of the real server with a valid admin token: never a 5xx."""

from __future__ import annotations

import os

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from scanctl.backend.auth import Role
from tests.backend.helpers import ServerProcess


@pytest.fixture(scope="module")
def api_schema(server: ServerProcess) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@hypothesis.settings(
    max_examples=int(os.environ.get("SCANCTL_FUZZ_EXAMPLES", "30")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case, server: ServerProcess) -> None:
    token = server.token(Role.ADMIN, "fuzz-tenant", subject="fuzzer")
    response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    # Every answer is one the document announces, in the shape it announces.
    case.validate_response(
        response,
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
