"""DynamoDB items of what the workers learn: explanations, "why this reply?", improvements."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from replyloop.adapters.keys import format_timestamp, interaction_pk, parse_timestamp
from replyloop.domain.entities import Explanation, Improvement, Interaction, Score, WhyThisReply

CATEGORY_PREFIX = "cat:"
LEADERBOARD = "LEADERBOARD"


def category_attribute(name: str) -> str:
    """Category counts are top-level attributes (`cat:<name>`): ADD works on them from nothing."""
    return f"{CATEGORY_PREFIX}{name}"


def categories_of(item: Mapping[str, Any]) -> dict[str, int]:
    return {
        key.removeprefix(CATEGORY_PREFIX): int(value)
        for key, value in item.items()
        if key.startswith(CATEGORY_PREFIX) and int(value) > 0
    }


def explanation_item(explanation: Explanation) -> dict[str, Any]:
    return {
        "pk": interaction_pk(explanation.interaction_id),
        "sk": "EXPLANATION",
        "interactionId": explanation.interaction_id,
        "revision": explanation.revision,
        "explanation": explanation.explanation,
        "failureCategory": explanation.failure_category,
        "topic": explanation.topic,
        "model": explanation.model,
        "createdAt": format_timestamp(explanation.created_at),
        "tokens": explanation.tokens,
        "costUsd": Decimal(str(round(explanation.cost_usd, 8))),
    }


def explanation_from_item(item: Mapping[str, Any]) -> Explanation:
    return Explanation(
        interaction_id=str(item["interactionId"]),
        revision=int(item["revision"]),
        explanation=str(item["explanation"]),
        failure_category=str(item["failureCategory"]),
        topic=str(item["topic"]),
        model=str(item.get("model", "")),
        created_at=parse_timestamp(str(item["createdAt"])),
        tokens=int(item.get("tokens", 0)),
        cost_usd=float(item.get("costUsd", 0)),
    )


def why_item(why: WhyThisReply) -> dict[str, Any]:
    return {
        "pk": interaction_pk(why.interaction_id),
        "sk": "WHY",
        "interactionId": why.interaction_id,
        "tone": why.tone,
        "content": why.content,
        "helpfulness": why.helpfulness,
        "model": why.model,
        "createdAt": format_timestamp(why.created_at),
    }


def why_from_item(item: Mapping[str, Any]) -> WhyThisReply:
    return WhyThisReply(
        interaction_id=str(item["interactionId"]),
        tone=str(item["tone"]),
        content=str(item["content"]),
        helpfulness=str(item["helpfulness"]),
        model=str(item.get("model", "")),
        created_at=parse_timestamp(str(item["createdAt"])),
    )


def _score_item(score: Score | None) -> dict[str, Any] | None:
    if score is None:
        return None
    return {
        "accuracy": score.accuracy,
        "completeness": score.completeness,
        "tone": score.tone,
        "helpfulness": score.helpfulness,
        "comments": score.comments,
    }


def _score(item: Mapping[str, Any] | None) -> Score | None:
    if not item:
        return None
    return Score(
        accuracy=int(item["accuracy"]),
        completeness=int(item["completeness"]),
        tone=int(item["tone"]),
        helpfulness=int(item["helpfulness"]),
        comments=str(item.get("comments", "")),
    )


def gain_sort_key(improvement: Improvement) -> str:
    """Highest gain first when read backwards; gains lie in [-9, 9], so +10 keeps them positive."""
    return (
        f"{improvement.score_gain_estimate + 10:07.3f}#{format_timestamp(improvement.created_at)}"
        f"#{improvement.interaction_id}"
    )


def improvement_item(interaction: Interaction, improvement: Improvement) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": interaction_pk(improvement.interaction_id),
        "sk": "IMPROVEMENT",
        "interactionId": improvement.interaction_id,
        "revision": improvement.revision,
        "message": interaction.message,
        "originalReply": improvement.original_reply,
        "correctedReply": improvement.corrected_reply,
        "rationale": improvement.rationale,
        "originalScore": _score_item(improvement.original_score),
        "correctedScore": _score_item(improvement.corrected_score),
        "agentScore": _score_item(improvement.agent_score),
        "scoreGainEstimate": Decimal(str(round(improvement.score_gain_estimate, 3))),
        "failureCategory": improvement.failure_category,
        "promptId": improvement.prompt_id,
        "model": improvement.model,
        "createdAt": format_timestamp(improvement.created_at),
        "rejectedReason": improvement.rejected_reason,
        "tokens": improvement.tokens,
        "costUsd": Decimal(str(round(improvement.cost_usd, 8))),
    }
    if improvement.rejected_reason is None:
        # Only kept improvements rank on the leaderboard (sparse indexes gsi2, and gsi3 per category).
        item.update({"gsi2pk": LEADERBOARD, "gsisk": gain_sort_key(improvement)})
        if improvement.failure_category:
            item["gsi3pk"] = f"{LEADERBOARD}#{improvement.failure_category}"
    return {key: value for key, value in item.items() if value is not None}


def improvement_from_item(item: Mapping[str, Any]) -> Improvement:
    original, corrected = _score(item.get("originalScore")), _score(item.get("correctedScore"))
    assert original is not None and corrected is not None
    return Improvement(
        interaction_id=str(item["interactionId"]),
        revision=int(item["revision"]),
        original_reply=str(item["originalReply"]),
        corrected_reply=str(item["correctedReply"]),
        rationale=str(item.get("rationale", "")),
        original_score=original,
        corrected_score=corrected,
        agent_score=_score(item.get("agentScore")),
        score_gain_estimate=float(item["scoreGainEstimate"]),
        failure_category=item.get("failureCategory"),
        prompt_id=str(item.get("promptId", "")),
        model=str(item.get("model", "")),
        created_at=parse_timestamp(str(item["createdAt"])),
        rejected_reason=item.get("rejectedReason"),
        message=str(item.get("message", "")),
        tokens=int(item.get("tokens", 0)),
        cost_usd=float(item.get("costUsd", 0)),
    )
