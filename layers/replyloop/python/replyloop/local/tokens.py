"""Dev sign-in for the local stack: RS256 tokens shaped like Cognito's, checked like API Gateway does.

The signing key lives in the replyloop home (`$REPLYLOOP_HOME`, default `~/.replyloop`), so
`replyloop dev token` and a running `replyloop dev start` agree without talking to each other.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from replyloop.domain.auth import Role

ISSUER = "https://replyloop.local/idp"
AUDIENCE = "replyloop-local"
KEY_FILE = "dev-signing-key.pem"
DEFAULT_TTL_SECONDS = 12 * 3600


class TokenError(Exception):
    """The token is missing, malformed, expired, or not ours."""


def replyloop_home() -> Path:
    return Path(os.environ.get("REPLYLOOP_HOME") or Path.home() / ".replyloop")


def _private_key(home: Path) -> rsa.RSAPrivateKey:
    path = home / KEY_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        # Write to a temporary name, then rename: two processes starting at once agree on one key.
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_bytes(pem)
        temporary.chmod(0o600)
        if not path.exists():
            temporary.replace(path)
        else:
            temporary.unlink()
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise TokenError(f"{path} is not an RSA key; delete it and a new one is made")
    return loaded


def issue_token(
    role: Role,
    *,
    username: str | None = None,
    home: Path | None = None,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
) -> str:
    """A Cognito-style ID token whose `cognito:groups` carries the role."""
    now = int(time.time())
    name = username or f"dev-{role.value}"
    claims = {
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"replyloop-local/{name}")),
        "iss": ISSUER,
        "aud": AUDIENCE,
        "token_use": "id",
        "cognito:username": name,
        "cognito:groups": [role.value],
        "email": f"{name}@example.com",
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, _private_key(home or replyloop_home()), algorithm="RS256")


def verify_token(token: str, *, home: Path | None = None) -> dict[str, Any]:
    """Check signature, issuer, audience and expiry, as the HTTP API JWT authorizer does."""
    public_key = _private_key(home or replyloop_home()).public_key()
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        raise TokenError(str(error)) from error
    return claims


def as_authorizer_claims(claims: dict[str, Any]) -> dict[str, str]:
    """API Gateway hands claims to Lambda as strings; a list arrives as "[a b]"."""

    def stringify(value: Any) -> str:
        if isinstance(value, list):
            return "[" + " ".join(str(item) for item in value) + "]"
        if isinstance(value, bool):
            return str(value).lower()
        return str(value)

    return {key: stringify(value) for key, value in claims.items()}
