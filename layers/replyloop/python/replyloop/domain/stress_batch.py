"""Stress tests through the OpenAI Batch API: request lines out, results mapped back by `custom_id`.

A batch run has two batches: the drafts (every query through the baseline and the candidate) and,
once they are back, the judgements (every pair of drafts scored on the same rubric). Each request's
`custom_id` names what it is - `draft:baseline:<caseId>`, `judge:candidate:<caseId>` - so results
are matched to queries however the batch orders its output, and a line that failed is charged to
its case, never to a neighbour. Nothing here talks to OpenAI or DynamoDB.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

ENDPOINT = "/v1/chat/completions"
MAX_QUERIES = 5_000  # two requests each: well under OpenAI's 50,000 per batch, and one poll stays short
BATCH_PRICE_FACTOR = 0.5  # the Batch API bills half the synchronous price
Role = Literal["baseline", "candidate"]
Kind = Literal["draft", "judge"]
ROLES: tuple[Role, Role] = ("baseline", "candidate")


class Stage(StrEnum):
    """Where a batch run is: collecting queries, waiting for a batch, or done."""

    COLLECTING = "collecting"
    DRAFTING = "drafting"
    JUDGING = "judging"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class BatchQuery:
    case_id: str
    message: str
    reference_reply: str | None = None
    interaction_id: str | None = None


@dataclass(frozen=True, slots=True)
class BatchState:
    """What the Batch API says about one batch (its status words are OpenAI's)."""

    batch_id: str
    status: str
    total: int = 0
    completed: int = 0
    failed: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        return self.status in ("validating", "in_progress", "finalizing")

    def problem(self) -> str | None:
        """Why the run cannot go on with this batch; None when its results can be used.

        An expired batch's finished requests are still in its output file: they are used, and the
        unfinished ones count as failed cases. A failed batch never ran (its input was refused); a
        cancelled one was stopped on purpose - the run stops with it.
        """
        if self.status == "failed":
            detail = "; ".join(self.errors[:3]) or "no reason given"
            return f"Batch {self.batch_id} failed: {detail}."
        if self.status in ("cancelling", "cancelled"):
            return f"Batch {self.batch_id} was cancelled."
        if self.status not in ("completed", "expired"):
            return f"Batch {self.batch_id} is in an unknown state {self.status!r}."
        return None


@dataclass(frozen=True, slots=True)
class LineResult:
    """One request's outcome in a batch's output or error file: the response body, or why there is none."""

    custom_id: str
    body: dict[str, Any] | None
    error: str | None


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int


def custom_id(kind: Kind, role: Role, case_id: str) -> str:
    return f"{kind}:{role}:{case_id}"


def parse_custom_id(value: str) -> tuple[Kind, Role, str] | None:
    kind, _, rest = value.partition(":")
    role, _, case = rest.partition(":")
    if kind not in ("draft", "judge") or role not in ROLES or not case:
        return None
    return kind, role, case  # type: ignore[return-value]  # checked against the literals above


def request_line(custom: str, body: Mapping[str, Any]) -> str:
    """One line of a batch input file (JSONL), for the chat completions endpoint."""
    return json.dumps({"custom_id": custom, "method": "POST", "url": ENDPOINT, "body": body}) + "\n"


def _error_text(entry: Mapping[str, Any]) -> str:
    response = entry.get("response") or {}
    error = entry.get("error") or ((response.get("body") or {}).get("error") if isinstance(response, dict) else None)
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        text = f"{code}: {message}" if code and message else str(message or code or "unknown error")
    else:
        text = str(error) if error else "no response"
    status = response.get("status_code") if isinstance(response, dict) else None
    return f"HTTP {status}: {text}" if status and status != 200 else text


def read_results(lines: Iterable[str | bytes]) -> dict[str, LineResult]:
    """Map a batch's output and error file lines by custom_id; an unreadable line is skipped, not fatal."""
    results: dict[str, LineResult] = {}
    for raw in lines:
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        if not text.strip():
            continue
        try:
            entry = json.loads(text)
        except ValueError:
            continue
        if not isinstance(entry, dict) or not isinstance(entry.get("custom_id"), str):
            continue
        found = entry.get("response")
        response: dict[str, Any] = found if isinstance(found, dict) else {}
        body = response.get("body")
        custom = entry["custom_id"]
        if not entry.get("error") and response.get("status_code") == 200 and isinstance(body, dict):
            results[custom] = LineResult(custom, body, None)
        else:
            results[custom] = LineResult(custom, None, _error_text(entry))
    return results


def reply_of(body: Mapping[str, Any]) -> Reply:
    """The first choice of a chat completion body; ValueError when it has none."""
    choices = body.get("choices") or []
    if not choices or not isinstance(choices[0], dict):
        raise ValueError("the response has no choices")
    message = choices[0].get("message") or {}
    if message.get("refusal"):
        raise ValueError(f"the model refused: {message['refusal']}")
    usage = body.get("usage") or {}
    return Reply(
        text=str(message.get("content") or "").strip(),
        model=str(body.get("model") or ""),
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
    )


def collect(
    kind: Kind, case_ids: Iterable[str], results: Mapping[str, LineResult], missing: str
) -> tuple[dict[str, dict[Role, Reply]], dict[str, str]]:
    """Both versions' replies per case; a case missing either one goes to the errors with the reason.

    `missing` says why a request has no line at all (e.g. the batch expired before it ran).
    """
    found: dict[str, dict[Role, Reply]] = {}
    errors: dict[str, str] = {}
    for case in case_ids:
        pair: dict[Role, Reply] = {}
        for role in ROLES:
            result = results.get(custom_id(kind, role, case))
            try:
                if result is None:
                    raise ValueError(missing)
                if result.body is None:
                    raise ValueError(result.error or "no response")
                pair[role] = reply_of(result.body)
            except ValueError as error:
                errors.setdefault(case, f"{kind} by the {role}: {error}")
        if case not in errors:
            found[case] = pair
    return found, errors
