"""moto-backed fixtures: the template's own resources, created by the local stack's provisioner."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from replyloop import wiring
from replyloop.caches import clear_all
from replyloop.local.provision import Provisioned, provision
from tests.conftest import TEMPLATE
from tests.helpers import ApiResult, call, http_event


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Provisioned]:
    with mock_aws():
        provisioned = provision(TEMPLATE, boto3.Session(region_name="us-east-1"))
        for key, value in provisioned.shared_environment().items():
            monkeypatch.setenv(key, value)
        _clear_caches()
        yield provisioned
        _clear_caches()


def _clear_caches() -> None:
    """Factories cache what they build per process (per Lambda container); tests start clean."""
    clear_all()


@pytest.fixture
def api(stack: Provisioned) -> Callable[..., ApiResult]:
    """Call the api function's handler with an HTTP API v2 event."""
    from replyloop.handlers.api import lambda_handler

    def invoke(method: str, path: str, **kwargs: Any) -> ApiResult:
        return call(lambda_handler, http_event(method, path, **kwargs))

    return invoke


@pytest.fixture
def dynamodb_calls(stack: Provisioned) -> list[str]:
    """Names of the DynamoDB operations the store makes, in order."""
    calls: list[str] = []
    client = wiring.get_store()._client
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    return calls
