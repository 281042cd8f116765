from __future__ import annotations

import pytest

from replyloop.domain.auth import Role, principal_from_claims, roles_from_claims


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({"cognito:groups": "[agent]"}, {Role.AGENT}),
        ({"cognito:groups": "[admin]"}, {Role.AGENT, Role.ADMIN}),  # an admin is also an agent
        ({"cognito:groups": "[support admin]"}, {Role.AGENT, Role.ADMIN}),
        ({"cognito:groups": '["agent"]'}, {Role.AGENT}),
        ({"cognito:groups": ["agent"]}, {Role.AGENT}),
        ({"cognito:groups": "agent,admin"}, {Role.AGENT, Role.ADMIN}),
        ({"scope": "openid replyloop/agent"}, {Role.AGENT}),
        ({"scope": "replyloop/admin"}, {Role.AGENT, Role.ADMIN}),
        ({"cognito:groups": "[viewers]"}, set()),
        ({}, set()),
    ],
)
def test_roles_from_claims_as_api_gateway_delivers_them(claims, roles):
    assert roles_from_claims(claims) == roles


def test_principal_prefers_username():
    assert principal_from_claims({"sub": "123", "cognito:username": "maria"}) == "maria"
    assert principal_from_claims({"sub": "123"}) == "123"
    assert principal_from_claims({}) == "unknown"
