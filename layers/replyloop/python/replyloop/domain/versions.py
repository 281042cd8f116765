"""Assistant versions: a model plus a prompt version, one of them active at a time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class VersionStatus(StrEnum):
    CANDIDATE = "candidate"  # registered, not yet serving
    ACTIVE = "active"  # drafts every new reply; exactly one at a time
    FROZEN = "frozen"  # served before; its prompt can never change; can be re-activated (rollback)
    RETIRED = "retired"  # never to serve again


DEFAULT_VERSION_TAG = "v1"


@dataclass(frozen=True, slots=True)
class AssistantVersion:
    version_tag: str
    model: str
    prompt_name: str
    prompt_version: int
    status: VersionStatus
    created_at: datetime
    description: str = ""
    fine_tune_id: str | None = None
    trainer: str = "manual"
    activated_at: datetime | None = None
    endpoint: str = "openai"  # the named endpoint its model is served from (domain/endpoints.py)
