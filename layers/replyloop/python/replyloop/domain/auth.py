"""Roles from JWT claims, as API Gateway's JWT authorizer delivers them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """Nested roles: every admin is a reviewer, every reviewer an agent (`roles_from_claims`)."""

    AGENT = "agent"
    REVIEWER = "reviewer"  # may also change a verdict another agent gave
    ADMIN = "admin"


# What each role includes besides itself.
IMPLIED: dict[Role, frozenset[Role]] = {
    Role.AGENT: frozenset(),
    Role.REVIEWER: frozenset({Role.AGENT}),
    Role.ADMIN: frozenset({Role.REVIEWER, Role.AGENT}),
}


SCOPE_PREFIX = "replyloop/"


def _as_list(value: Any) -> list[str]:
    """Claims arrive as strings: `cognito:groups` as "[agent admin]", JSON lists are tolerated too."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, list):
            return [str(item) for item in parsed]
        text = text[1:-1]
    return [part for part in text.replace(",", " ").split() if part]


def roles_from_claims(claims: Mapping[str, Any]) -> frozenset[Role]:
    """Roles named by the token's groups (`cognito:groups`) or scopes (`replyloop/admin`).

    An admin is also a reviewer and an agent; a reviewer is also an agent.
    """
    names = set(_as_list(claims.get("cognito:groups")))
    for scope in _as_list(claims.get("scope")):
        names.add(scope.removeprefix(SCOPE_PREFIX))
    named = {role for role in Role if role.value in names}
    return frozenset(named.union(*(IMPLIED[role] for role in named)))


def principal_from_claims(claims: Mapping[str, Any]) -> str:
    """Who is calling, for `createdBy` / `submittedBy`."""
    for key in ("cognito:username", "username", "email", "sub", "client_id"):
        value = claims.get(key)
        if value:
            return str(value)
    return "unknown"
