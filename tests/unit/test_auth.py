from __future__ import annotations

import pytest

from replyloop.domain.auth import Role, principal_from_claims, roles_from_claims


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({"cognito:groups": "[agent]"}, {Role.AGENT}),
        ({"cognito:groups": "[admin]"}, {Role.AGENT, Role.REVIEWER, Role.ADMIN}),  # an admin is also both
        ({"cognito:groups": "[reviewer]"}, {Role.AGENT, Role.REVIEWER}),  # a reviewer is also an agent
        ({"cognito:groups": "[support admin]"}, {Role.AGENT, Role.REVIEWER, Role.ADMIN}),
        ({"cognito:groups": '["agent"]'}, {Role.AGENT}),
        ({"cognito:groups": ["agent"]}, {Role.AGENT}),
        ({"cognito:groups": "agent,admin"}, {Role.AGENT, Role.REVIEWER, Role.ADMIN}),
        ({"cognito:groups": "[agent reviewer]"}, {Role.AGENT, Role.REVIEWER}),
        ({"scope": "openid replyloop/agent"}, {Role.AGENT}),
        ({"scope": "replyloop/reviewer"}, {Role.AGENT, Role.REVIEWER}),
        ({"scope": "replyloop/admin"}, {Role.AGENT, Role.REVIEWER, Role.ADMIN}),
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


def test_a_dev_token_for_a_reviewer_carries_the_group_and_reads_back_as_reviewer_and_agent(tmp_path):
    from replyloop.local.tokens import as_authorizer_claims, issue_token, verify_token

    claims = as_authorizer_claims(verify_token(issue_token(Role.REVIEWER, home=tmp_path), home=tmp_path))
    assert claims["cognito:groups"] == "[reviewer]"
    assert claims["cognito:username"] == "dev-reviewer"
    assert roles_from_claims(claims) == {Role.AGENT, Role.REVIEWER}
