"""The data table's items for interactions, verdicts, counters and the outbox (docs/data-model.md)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from replyloop.adapters.keys import customer_key, format_timestamp, interaction_pk, parse_timestamp, verdict_sk
from replyloop.domain.entities import Feedback, Interaction, Source, Verdict
from replyloop.domain.errors import InvalidRequestError
from replyloop.domain.learning import Job, Step

ALL_VERSIONS = "ALL"
INDEX_SORT_KEY = "gsisk"
# Replay filters -> (index, partition attribute); see docs/data-model.md, Indexes.
REPLAY_INDEXES = {
    (False, False): ("gsi1", "gsi1pk"),
    (True, False): ("gsi2", "gsi2pk"),
    (False, True): ("gsi3", "gsi3pk"),
    (True, True): ("gsi4", "gsi4pk"),
}
# DynamoDB attribute names of the counters (camelCase like every other attribute).
COUNTER_ATTRIBUTES = {
    "interactions": "interactions",
    "total": "total",
    "useful": "useful",
    "not_useful": "notUseful",
    "overrides": "overrides",
    "snoozed": "snoozed",
    "confidence_sum": "confidenceSum",
    "confidence_count": "confidenceCount",
    "prompt_tokens": "promptTokens",
    "completion_tokens": "completionTokens",
    "cost_usd": "costUsd",
}
FLOAT_COUNTERS = {"confidence_sum", "cost_usd"}


def stats_pk(assistant_version: str | None) -> str:
    return f"STATS#{ALL_VERSIONS}" if assistant_version is None else f"STATS#VERSION#{assistant_version}"


def index_sort_key(interaction: Interaction) -> str:
    return f"{format_timestamp(interaction.created_at)}#{interaction.interaction_id}"


def _drop_none(item: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if value is not None}


def interaction_item(interaction: Interaction) -> dict[str, Any]:
    return _drop_none(
        {
            "pk": interaction_pk(interaction.interaction_id),
            "sk": "INTERACTION",
            "interactionId": interaction.interaction_id,
            "message": interaction.message,
            "aiReply": interaction.ai_reply,
            "assistantVersion": interaction.assistant_version,
            "createdAt": format_timestamp(interaction.created_at),
            "createdBy": interaction.created_by,
            "confidence": None if interaction.confidence is None else Decimal(str(interaction.confidence)),
            "conversationId": interaction.conversation_id,
            "customerId": interaction.customer_id,
            # The sparse `customer` index: every interaction of one customer, for erasure.
            "customerKey": customer_key(interaction.customer_id) if interaction.customer_id else None,
            "topic": interaction.topic,
            "source": interaction.source.value,
            "externalVersion": interaction.external_version,
            "confidenceSource": interaction.confidence_source.value if interaction.confidence_source else None,
            "model": interaction.model,
            "promptName": interaction.prompt_name,
            "promptVersion": interaction.prompt_version,
            "snoozed": interaction.snoozed or None,
            "confidenceMethod": interaction.confidence_method,
            "promptTokens": interaction.prompt_tokens or None,
            "completionTokens": interaction.completion_tokens or None,
            "costUsd": Decimal(str(round(interaction.cost_usd, 8))) if interaction.cost_usd else None,
        }
    )


def _source_of(item: Mapping[str, Any]) -> Source:
    """Items written before `source` was stored: a reply with a model was drafted here, any other was recorded."""
    if item.get("source"):
        return Source(str(item["source"]))
    return Source.REPLYLOOP if item.get("model") else Source.EXTERNAL


def interaction_from_item(item: Mapping[str, Any]) -> Interaction:
    confidence = item.get("confidence")
    confidence_source = item.get("confidenceSource")
    return Interaction(
        interaction_id=str(item["interactionId"]),
        message=str(item["message"]),
        ai_reply=str(item["aiReply"]),
        assistant_version=str(item["assistantVersion"]),
        created_at=parse_timestamp(str(item["createdAt"])),
        created_by=str(item.get("createdBy", "unknown")),
        confidence=None if confidence is None else float(confidence),
        conversation_id=item.get("conversationId"),
        customer_id=item.get("customerId"),
        topic=item.get("topic"),
        source=_source_of(item),
        external_version=item.get("externalVersion"),
        confidence_source=Source(str(confidence_source)) if confidence_source else None,
        model=item.get("model"),
        prompt_name=item.get("promptName"),
        prompt_version=int(item["promptVersion"]) if item.get("promptVersion") is not None else None,
        snoozed=bool(item.get("snoozed", False)),
        confidence_method=item.get("confidenceMethod"),
        prompt_tokens=int(item.get("promptTokens", 0)),
        completion_tokens=int(item.get("completionTokens", 0)),
        cost_usd=float(item.get("costUsd", 0)),
    )


def feedback_item(interaction: Interaction, feedback: Feedback) -> dict[str, Any]:
    """The feedback, with the interaction's text copied so a replay page is one query."""
    version, verdict = interaction.assistant_version, feedback.verdict.value
    base = interaction_item(interaction)
    base.update(
        {
            "sk": "FEEDBACK",
            "verdict": verdict,
            "agentReply": feedback.agent_reply,
            "submittedAt": format_timestamp(feedback.submitted_at),
            "submittedBy": feedback.submitted_by,
            "submittedByReviewer": feedback.by_reviewer or None,
            "revision": feedback.revision,
            "gsi1pk": "FEEDBACK",
            "gsi2pk": f"FEEDBACK#{verdict}",
            "gsi3pk": f"FEEDBACK#V#{version}",
            "gsi4pk": f"FEEDBACK#V#{version}#{verdict}",
            INDEX_SORT_KEY: index_sort_key(interaction),
        }
    )
    return _drop_none(base)


def verdict_item(feedback: Feedback) -> dict[str, Any]:
    """One revision of the verdict history: written once, never changed (docs/data-model.md, Items)."""
    return _drop_none(
        {
            "pk": interaction_pk(feedback.interaction_id),
            "sk": verdict_sk(feedback.revision),
            "interactionId": feedback.interaction_id,
            "verdict": feedback.verdict.value,
            "agentReply": feedback.agent_reply,
            "submittedAt": format_timestamp(feedback.submitted_at),
            "submittedBy": feedback.submitted_by,
            "revision": feedback.revision,
        }
    )


def feedback_from_item(item: Mapping[str, Any]) -> Feedback:
    """A feedback item or a verdict history item (they share the verdict's attributes)."""
    return Feedback(
        interaction_id=str(item["interactionId"]),
        verdict=Verdict(str(item["verdict"])),
        agent_reply=item.get("agentReply"),
        submitted_at=parse_timestamp(str(item["submittedAt"])),
        submitted_by=str(item.get("submittedBy", "unknown")),
        revision=int(item["revision"]),
        by_reviewer=bool(item.get("submittedByReviewer", False)),
    )


def encode_cursor(last_key: Mapping[str, Any]) -> str:
    raw = json.dumps(dict(last_key), sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, expected: Mapping[str, str]) -> dict[str, str]:
    """Turn a cursor back into an ExclusiveStartKey, refusing anything we did not hand out.

    `expected` maps the key attributes whose value is fixed by the query (its partition) to that value.
    """
    bad = InvalidRequestError("The cursor is not valid for this query; start again without it.")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (ValueError, binascii.Error) as error:
        raise bad from error
    wanted = {"pk", "sk", INDEX_SORT_KEY, *expected}
    if not isinstance(key, dict) or set(key) != wanted or not all(isinstance(v, str) for v in key.values()):
        raise bad
    if any(key[name] != value for name, value in expected.items()):
        raise bad
    return key


OUTBOX = "OUTBOX"


def outbox_item(job: Job, now: datetime) -> dict[str, Any]:
    """Written in the verdict's transaction: the job survives even if queueing it fails afterwards."""
    return {
        "pk": OUTBOX,
        "sk": job.key,
        "queuedAt": format_timestamp(now),
        "interactionId": job.interaction_id,
        "step": job.step.value,
        "revision": job.revision,
    }


def job_from_outbox(item: Mapping[str, Any]) -> Job:
    return Job(str(item["interactionId"]), Step(str(item["step"])), int(item["revision"]))
