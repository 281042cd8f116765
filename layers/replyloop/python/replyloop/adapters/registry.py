"""Assistant versions and prompt versions in the data table (docs/data-model.md, Registry)."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Key

from replyloop.adapters.keys import format_timestamp, parse_timestamp
from replyloop.adapters.storage import ConditionFailed
from replyloop.adapters.table import DynamoTable
from replyloop.domain.errors import ConflictError
from replyloop.domain.prompts import Exemplar, PromptVersion
from replyloop.domain.versions import AssistantVersion, VersionStatus

VERSIONS_PK = "VERSIONS"
ACTIVE_SK = "ACTIVE"


def prompt_pk(name: str) -> str:
    return f"PROMPT#{name}"


def prompt_sk(version: int) -> str:
    return f"V#{version:06d}"


def version_item(version: AssistantVersion) -> dict[str, Any]:
    item = {
        "versionTag": version.version_tag,
        "model": version.model,
        "promptName": version.prompt_name,
        "promptVersion": version.prompt_version,
        "status": version.status.value,
        "createdAt": format_timestamp(version.created_at),
        "description": version.description,
        "fineTuneId": version.fine_tune_id,
        "trainer": version.trainer,
        "activatedAt": format_timestamp(version.activated_at) if version.activated_at else None,
        "endpoint": version.endpoint,
    }
    return {key: value for key, value in item.items() if value is not None}


def version_from_item(item: Mapping[str, Any]) -> AssistantVersion:
    return AssistantVersion(
        version_tag=str(item["versionTag"]),
        model=str(item["model"]),
        prompt_name=str(item["promptName"]),
        prompt_version=int(item["promptVersion"]),
        status=VersionStatus(str(item["status"])),
        created_at=parse_timestamp(str(item["createdAt"])),
        description=str(item.get("description", "")),
        fine_tune_id=item.get("fineTuneId"),
        trainer=str(item.get("trainer", "manual")),
        activated_at=parse_timestamp(str(item["activatedAt"])) if item.get("activatedAt") else None,
        endpoint=str(item.get("endpoint") or "openai"),  # versions written before endpoints existed: openai
    )


def prompt_item(prompt: PromptVersion) -> dict[str, Any]:
    return {
        "name": prompt.name,
        "version": prompt.version,
        "text": prompt.text,
        "updatedAt": format_timestamp(prompt.updated_at),
        "improvementNotes": prompt.improvement_notes,
        "exemplars": [{"message": e.message, "reply": e.reply} for e in prompt.exemplars],
        "frozen": prompt.frozen,
    }


def prompt_from_item(item: Mapping[str, Any]) -> PromptVersion:
    return PromptVersion(
        name=str(item["name"]),
        version=int(item["version"]),
        text=str(item["text"]),
        updated_at=parse_timestamp(str(item["updatedAt"])),
        improvement_notes=str(item.get("improvementNotes", "")),
        exemplars=tuple(Exemplar(str(e["message"]), str(e["reply"])) for e in item.get("exemplars") or []),
        frozen=bool(item.get("frozen", False)),
    )


class DynamoRegistry(DynamoTable):
    def _run(self, operation: Any, **kwargs: Any) -> Any:
        try:
            return self._call(operation, **kwargs)
        except ConditionFailed as error:
            raise ConflictError("Someone changed this at the same moment; reload and try again.") from error

    def _put(self, item: dict[str, Any], condition: str = "attribute_not_exists(pk)") -> dict[str, Any]:
        return {"Put": {"TableName": self.table_name, "Item": item, "ConditionExpression": condition}}

    def ensure_defaults(self, version: AssistantVersion, prompt: PromptVersion) -> None:
        """Create v1 and its prompt once; a second caller's identical attempt is a no-op."""
        active = {"pk": VERSIONS_PK, "sk": ACTIVE_SK, **version_item(version), "prompt": prompt_item(prompt)}
        with contextlib.suppress(ConditionFailed):
            self._transact(
                [
                    self._put(active),
                    self._put({"pk": VERSIONS_PK, "sk": f"VERSION#{version.version_tag}", **version_item(version)}),
                    self._put({"pk": prompt_pk(prompt.name), "sk": prompt_sk(prompt.version), **prompt_item(prompt)}),
                ]
            )

    def active(self) -> tuple[AssistantVersion, PromptVersion] | None:
        item = self._run(self._table.get_item, Key={"pk": VERSIONS_PK, "sk": ACTIVE_SK}).get("Item")
        if not item:
            return None
        return version_from_item(item), prompt_from_item(item["prompt"])

    def list_versions(self) -> list[AssistantVersion]:
        response = self._run(
            self._table.query,
            KeyConditionExpression=Key("pk").eq(VERSIONS_PK) & Key("sk").begins_with("VERSION#"),
        )
        return [version_from_item(item) for item in response.get("Items", [])]

    def get_version(self, tag: str) -> AssistantVersion | None:
        item = self._run(self._table.get_item, Key={"pk": VERSIONS_PK, "sk": f"VERSION#{tag}"}).get("Item")
        return version_from_item(item) if item else None

    def put_version(self, version: AssistantVersion) -> None:
        self._run(
            self._table.put_item,
            Item={"pk": VERSIONS_PK, "sk": f"VERSION#{version.version_tag}", **version_item(version)},
            ConditionExpression="attribute_not_exists(pk)",
        )

    def activate(
        self,
        version: AssistantVersion,
        prompt: PromptVersion,
        previous: AssistantVersion | None,
        now: datetime,
    ) -> None:
        """One transaction: pointer moved, new version active, previous one frozen, prompt frozen."""
        live = {
            **version_item(version),
            "status": VersionStatus.ACTIVE.value,
            "activatedAt": format_timestamp(now),
        }
        pointer_condition = "attribute_not_exists(pk)" if previous is None else "versionTag = :previous"
        pointer: dict[str, Any] = {
            "Put": {
                "TableName": self.table_name,
                "Item": {
                    "pk": VERSIONS_PK,
                    "sk": ACTIVE_SK,
                    **live,
                    "prompt": prompt_item(prompt) | {"frozen": True},
                },
                "ConditionExpression": pointer_condition,
            }
        }
        if previous is not None:
            pointer["Put"]["ExpressionAttributeValues"] = {":previous": previous.version_tag}
        items: list[dict[str, Any]] = [
            pointer,
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": {"pk": VERSIONS_PK, "sk": f"VERSION#{version.version_tag}"},
                    "UpdateExpression": "SET #status = :active, activatedAt = :now",
                    "ConditionExpression": "attribute_exists(pk) AND #status <> :retired",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {
                        ":active": VersionStatus.ACTIVE.value,
                        ":retired": VersionStatus.RETIRED.value,
                        ":now": format_timestamp(now),
                    },
                }
            },
            {
                "Update": {
                    "TableName": self.table_name,
                    "Key": {"pk": prompt_pk(prompt.name), "sk": prompt_sk(prompt.version)},
                    "UpdateExpression": "SET frozen = :true",
                    "ConditionExpression": "attribute_exists(pk)",
                    "ExpressionAttributeValues": {":true": True},
                }
            },
        ]
        if previous is not None and previous.version_tag != version.version_tag:
            items.append(
                {
                    "Update": {
                        "TableName": self.table_name,
                        "Key": {"pk": VERSIONS_PK, "sk": f"VERSION#{previous.version_tag}"},
                        "UpdateExpression": "SET #status = :frozen",
                        "ExpressionAttributeNames": {"#status": "status"},
                        "ExpressionAttributeValues": {":frozen": VersionStatus.FROZEN.value},
                    }
                }
            )
        self._run(self._client.transact_write_items, TransactItems=items)

    def list_prompt_versions(self, name: str) -> list[PromptVersion]:
        response = self._run(self._table.query, KeyConditionExpression=Key("pk").eq(prompt_pk(name)))
        return [prompt_from_item(item) for item in response.get("Items", [])]

    def get_prompt_version(self, name: str, version: int) -> PromptVersion | None:
        item = self._run(self._table.get_item, Key={"pk": prompt_pk(name), "sk": prompt_sk(version)}).get("Item")
        return prompt_from_item(item) if item else None

    def put_prompt_version(self, prompt: PromptVersion) -> None:
        """A new version number only: prompt versions are never edited in place."""
        self._run(
            self._table.put_item,
            Item={"pk": prompt_pk(prompt.name), "sk": prompt_sk(prompt.version), **prompt_item(prompt)},
            ConditionExpression="attribute_not_exists(pk)",
        )
