"""Test helpers: API Gateway HTTP API (v2) events and a Lambda context, as Powertools' examples build them."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


@dataclass
class FakeContext:
    function_name: str = "ApiFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:ApiFunction"
    aws_request_id: str = "req-1"
    remaining_ms: int = 10_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def http_event(
    method: str,
    path: str,
    *,
    body: Any = None,
    raw_body: str | bytes | None = None,
    groups: str | None = "[agent]",
    username: str = "tester",
    params: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """A payload-format-2.0 event; `groups` arrives as API Gateway sends `cognito:groups` (one string)."""
    all_headers = {"content-type": "application/json", **(headers or {})}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "ANY /api/{proxy+}",
        "rawPath": path,
        "rawQueryString": urlencode(params or {}),
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "test",
            "domainName": "test.example.com",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "pytest",
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": "ANY /api/{proxy+}",
            "stage": "$default",
            "time": "23/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795000000000,
        },
        "isBase64Encoded": False,
    }
    if params:
        event["queryStringParameters"] = {k: str(v) for k, v in params.items()}
    if groups is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {
                "claims": {"sub": f"u-{username}", "cognito:username": username, "cognito:groups": groups},
                "scopes": None,
            }
        }
    if raw_body is not None:
        if isinstance(raw_body, bytes):
            event["body"] = base64.b64encode(raw_body).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = raw_body
    elif body is not None:
        event["body"] = json.dumps(body)
    return event


@dataclass
class ApiResult:
    status: int
    body: Any
    headers: dict[str, str]


def call(handler: Any, event: dict[str, Any], context: Any = None) -> ApiResult:
    response = handler(event, context or FakeContext())
    text = response.get("body") or ""
    try:
        parsed = json.loads(text) if text else None
    except ValueError:
        parsed = text
    return ApiResult(int(response["statusCode"]), parsed, response.get("headers") or {})
