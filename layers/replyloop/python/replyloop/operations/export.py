"""`replyloop export`: the retrain flow's export, against any stack, through its public HTTP API.

The same code as the state machine's export step (`services.export`), with two other ports: rows
come from the API (the replay listing of "not useful" verdicts, then each interaction for its
correction and explanation), and files go to a local directory.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from replyloop.domain.prompts import PromptVersion
from replyloop.domain.training import Earned, FailedReply, TrainingPolicy, training_exclusion
from replyloop.operations.api import Api
from replyloop.services.export import (
    DirectoryOutputs,
    ExportOptions,
    ExportResult,
    export_training_data,
    iter_pages,
)
from replyloop.wiring import get_redactor


class ExportSetupError(Exception):
    """The stack has no prompt to export against; the message says what is missing."""


class ApiSource:
    def __init__(self, client: Api, policy: TrainingPolicy = "reviewed") -> None:
        self.client, self.policy = client, policy

    def not_useful(self, start: date, end: date, version: str | None = None) -> int:
        """How many "not useful" verdicts the window holds (the counters: no listing needed)."""
        window = {"from": start.isoformat(), "to": end.isoformat(), "top": 0}
        return int(self.client.get("/api/feedback/analytics", version=version, **window)["notUsefulCount"])

    def failed(self, start: date, end: date, version: str | None = None) -> Iterator[FailedReply]:
        def page(cursor: str | None) -> tuple[list[Any], str | None]:
            found = self.client.get(
                "/api/feedback/replay",
                verdict="no",
                version=version,
                limit=100,
                cursor=cursor,
                **{"from": start.isoformat(), "to": end.isoformat()},
            )
            return found["items"], found.get("nextCursor")

        for item in iter_pages(page):
            yield failed_reply_of(self.client.get(f"/api/interactions/{item['interactionId']}"), self.policy)


def failed_reply_of(view: dict[str, Any], policy: TrainingPolicy) -> FailedReply:
    """The export's row from the API's interaction view (the same rule as `services.training_source.failed_reply`)."""
    kept = view.get("correctedReply") if not view.get("improvementRejectedReason") else None
    feedback = view.get("feedback") or {}
    scores = view.get("judgeScores") or {}
    preferred = scores.get("corrected") if kept else (scores.get("agent") if view.get("agentReply") else None)
    review = view.get("trainingReview") or {}
    current = review if review.get("revision") == feedback.get("revision") else {}
    earned = Earned(
        original_score=(scores.get("original") or {}).get("overall"),
        preferred_score=(preferred or {}).get("overall"),
        author=feedback.get("submittedBy"),
        author_is_reviewer=bool(feedback.get("byReviewer")),
        review=current.get("status", "pending"),
        reviewed_by=current.get("reviewedBy"),
    )
    return FailedReply(
        interaction_id=view["interactionId"],
        message=view["message"],
        ai_reply=view["aiReply"],
        agent_reply=view.get("agentReply"),
        corrected_reply=kept,
        failure_category=view.get("failureCategory"),
        explanation=view.get("explanation"),
        score_gain=view.get("scoreGainEstimate") if kept else None,
        topic=view.get("topic"),
        version=view.get("assistantVersion"),
        excluded_reason=training_exclusion(policy, earned) if (kept or view.get("agentReply")) else None,
    )


def active_prompt(client: Api, now: datetime) -> PromptVersion:
    """The prompt version the active assistant version drafts with: the export's system prompt."""
    active = next((v for v in client.get("/api/versions")["items"] if v["status"] == "active"), None)
    if active is None:
        raise ExportSetupError("The stack has no active assistant version: activate one first.")
    prompts = client.get(f"/api/prompts/{active['promptName']}/versions")["items"]
    found = next((p for p in prompts if p["version"] == active["promptVersion"]), None)
    if found is None:
        raise ExportSetupError(
            f"Prompt {active['promptName']!r} version {active['promptVersion']} of the active version "
            f"{active['versionTag']} is not listed."
        )
    return PromptVersion(found["name"], found["version"], found["text"], now)


@dataclass(frozen=True)
class ExportPlan:
    """What an export will read, known before it starts (so progress has a length)."""

    source: ApiSource
    prompt: PromptVersion
    options: ExportOptions
    now: datetime
    expected_rows: int  # the "not useful" verdicts of the window: the export reads each one


def plan_export(client: Api, options: ExportOptions, now: datetime, policy: TrainingPolicy = "reviewed") -> ExportPlan:
    source = ApiSource(client, policy)
    prompt = active_prompt(client, now)
    start, end = options.window(now.date())
    return ExportPlan(source, prompt, options, now, source.not_useful(start, end, options.version))


def run_export(plan: ExportPlan, out_dir: Path, progress: Callable[[int], None] | None = None) -> ExportResult:
    """Export into `out_dir` with a new run id, as the retrain flow's export step does into S3."""
    return export_training_data(
        plan.source,
        plan.prompt,
        DirectoryOutputs(out_dir),
        plan.options,
        redactor=get_redactor(),
        run_id=uuid.uuid4().hex,
        now=plan.now,
        progress=progress,
    )
