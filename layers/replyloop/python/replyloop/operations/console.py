"""Publish the built web console to a deployed stack: files to its bucket, config.json, a CloudFront refresh.

The console is static; what differs per stack (the API's URL, the Cognito hosted UI and app client)
is written into `config.json` next to it, read from the stack's outputs at publish time.
"""

from __future__ import annotations

import json
import mimetypes
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REQUIRED_OUTPUTS = ("ConsoleBucketName", "ApiUrl", "UserPoolClientId", "UserPoolDomain", "ConsoleUrl")
# Files keep their names from build to build, so browsers revalidate (cheap: CloudFront answers 304).
CACHE_CONTROL = "no-cache"


class ConsolePublishError(Exception):
    """The stack or the build is not ready for a publish; the message says what to do."""


@dataclass(frozen=True)
class ConsoleTarget:
    bucket: str
    api_url: str
    client_id: str
    auth_domain: str
    console_url: str
    distribution_id: str | None = None

    @classmethod
    def from_outputs(cls, stack_name: str, outputs: dict[str, str]) -> ConsoleTarget:
        missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
        if missing:
            raise ConsolePublishError(
                f"Stack {stack_name!r} has no output {', '.join(missing)}: deploy the current template first "
                "(sam build && sam deploy)."
            )
        return cls(
            bucket=outputs["ConsoleBucketName"],
            api_url=outputs["ApiUrl"],
            client_id=outputs["UserPoolClientId"],
            auth_domain=outputs["UserPoolDomain"],
            console_url=outputs["ConsoleUrl"],
            distribution_id=outputs.get("ConsoleDistributionId") or None,
        )

    def config(self) -> dict[str, Any]:
        """What the console reads at start: where the API is and how to sign in."""
        return {
            "apiUrl": self.api_url.rstrip("/"),
            "auth": {"mode": "cognito", "domain": self.auth_domain, "clientId": self.client_id},
        }


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:
        raise ConsolePublishError(f"Cannot read stack {stack_name!r}: {error}") from error
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


def built_files(dist: Path) -> Iterator[Path]:
    if not (dist / "index.html").is_file():
        raise ConsolePublishError(f"{dist} has no index.html: build the console first (`make console`).")
    yield from sorted(path for path in dist.rglob("*") if path.is_file() and path.name != "config.json")


@dataclass(frozen=True)
class PublishResult:
    files: int
    bytes: int
    invalidation_id: str | None


def publish(
    s3: Any,
    cloudfront: Any | None,
    target: ConsoleTarget,
    dist: Path,
    progress: Callable[[str], None] = lambda line: None,
) -> PublishResult:
    """Upload every built file with its content type, then config.json, then invalidate the CDN's copy."""
    count = size = 0
    for path in built_files(dist):
        key = path.relative_to(dist).as_posix()
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        body = path.read_bytes()
        s3.put_object(Bucket=target.bucket, Key=key, Body=body, ContentType=content_type, CacheControl=CACHE_CONTROL)
        count, size = count + 1, size + len(body)
        progress(f"  {key} ({len(body):,} bytes)")
    config = json.dumps(target.config(), indent=2).encode()
    s3.put_object(
        Bucket=target.bucket, Key="config.json", Body=config, ContentType="application/json", CacheControl="no-store"
    )
    progress(f"  config.json (API {target.api_url}, sign-in {target.auth_domain})")
    invalidation = None
    if cloudfront is not None and target.distribution_id:
        created = cloudfront.create_invalidation(
            DistributionId=target.distribution_id,
            InvalidationBatch={
                "Paths": {"Quantity": 1, "Items": ["/*"]},
                "CallerReference": f"replyloop-{time.time_ns()}",
            },
        )
        invalidation = str(created["Invalidation"]["Id"])
        progress(f"  CloudFront invalidation {invalidation} (takes a minute or two)")
    return PublishResult(count + 1, size + len(config), invalidation)
