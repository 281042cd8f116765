"""Fuzz every route from the API's own OpenAPI spec (schemathesis): no input may produce a 5xx, a status code
the spec does not document for that operation, or a body outside the documented schema of its status."""

from __future__ import annotations

import sys

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from moto import mock_aws
from schemathesis.checks import not_a_server_error, response_schema_conformance, status_code_conformance

from replyloop.caches import clear_all
from replyloop.domain.auth import Role
from replyloop.local.gateway import FunctionRunner, Gateway
from replyloop.local.provision import provision
from replyloop.local.tokens import issue_token
from tests.conftest import TEMPLATE


@pytest.fixture(scope="module")
def gateway(tmp_path_factory):
    home = tmp_path_factory.mktemp("fuzz-home")
    patch = pytest.MonkeyPatch()
    with mock_aws():
        provisioned = provision(TEMPLATE, boto3.Session(region_name="us-east-1"))
        for key, value in provisioned.shared_environment().items():
            patch.setenv(key, value)
        clear_all()
        # A crash's traceback goes to stderr, which pytest shows next to the failing case.
        app = Gateway(
            provisioned.routes,
            FunctionRunner(provisioned.functions),
            home=home,
            on_error=lambda text: print(text, file=sys.stderr),
        )
        app.admin_token = issue_token(Role.ADMIN, home=home)  # type: ignore[attr-defined]
        yield app
    patch.undo()
    clear_all()


@pytest.fixture(scope="module")
def api_schema(gateway):
    return schemathesis.openapi.from_wsgi("/openapi.json", gateway)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_in_the_spec(case, gateway):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {gateway.admin_token}"},
        checks=[not_a_server_error, status_code_conformance, response_schema_conformance],
    )
