"""Authorisation from the JWT claims API Gateway's authorizer put on the event."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.exceptions import UnauthorizedError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware

from replyloop.domain.auth import Role, principal_from_claims, roles_from_claims
from replyloop.domain.errors import ForbiddenError
from replyloop.domain.quota import Spend


def claims_of(app: BaseRouter) -> dict[str, Any]:
    authorizer = app.current_event.raw_event.get("requestContext", {}).get("authorizer") or {}
    claims = (authorizer.get("jwt") or {}).get("claims") or {}
    return dict(claims) if isinstance(claims, dict) else {}


def charge_caller(app: BaseRouter) -> Callable[[Spend], None]:
    """Charges the caller's hourly quota of model calls (`QuotaExceededError` -> 429 past it)."""
    from replyloop.wiring import get_quotas, utc_now

    principal = current_principal(app)
    return lambda spend: get_quotas().spend(principal, spend, utc_now())


def current_roles(app: BaseRouter) -> frozenset[Role]:
    return roles_from_claims(claims_of(app))


def current_principal(app: BaseRouter) -> str:
    return principal_from_claims(claims_of(app))


def require(role: Role) -> Callable[[APIGatewayHttpResolver, NextMiddleware], Response]:
    """Route middleware: 401 without a verified token, 403 without `role`."""

    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response:
        claims = claims_of(app)
        if not claims:
            raise UnauthorizedError("Sign in first: send 'Authorization: Bearer <token>'.")
        if role not in roles_from_claims(claims):
            raise ForbiddenError(f"This needs the '{role.value}' role.")
        return next_middleware(app)

    middleware.__name__ = f"require_{role.value}"
    return middleware


require_agent = require(Role.AGENT)
require_reviewer = require(Role.REVIEWER)
require_admin = require(Role.ADMIN)
