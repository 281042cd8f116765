"""Evaluate assistant versions on real or simulated queries, judged on one rubric (stress tests)."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from replyloop.caches import register
from replyloop.domain.errors import NotFoundError
from replyloop.domain.learning import judge_messages
from replyloop.domain.prompts import PromptVersion, build_draft_messages
from replyloop.domain.stress import CaseResult
from replyloop.domain.versions import AssistantVersion
from replyloop.models.llm import JudgeScores
from replyloop.ports import Llm, Registry
from replyloop.settings import LlmSettings


@dataclass(frozen=True, slots=True)
class Evaluation:
    version_tag: str
    model: str
    reply: str
    score: float
    comments: str
    tokens: int
    cost_usd: float


class _Resolved(dict[str, tuple[AssistantVersion, PromptVersion]]):
    def cache_clear(self) -> None:
        self.clear()


# A version's model and prompt version never change once it is registered (a tag and a prompt version are
# each written once; only a version's status moves), and a stress test asks for the same two versions on
# every query: each process reads them once instead of twice per version per query.
_RESOLVED = _Resolved()
register(_RESOLVED)


def resolve_version(registry: Registry, version_tag: str) -> tuple[AssistantVersion, PromptVersion]:
    """The version and the prompt version it drafts with (live and batch stress tests alike).

    Read once per process (`_RESOLVED`): use it for what it drafts with, not for its status, which moves."""
    found = _RESOLVED.get(version_tag)
    if found is not None:
        return found
    version = registry.get_version(version_tag)
    if version is None:
        raise NotFoundError(f"No assistant version {version_tag!r}.")
    prompt = registry.get_prompt_version(version.prompt_name, version.prompt_version)
    if prompt is None:
        raise NotFoundError(f"Version {version_tag!r} names a prompt version that does not exist.")
    _RESOLVED[version_tag] = (version, prompt)
    return version, prompt


def evaluate(
    registry: Registry, llm: Llm, settings: LlmSettings, version_tag: str, message: str, reference: str | None
) -> Evaluation:
    """Draft with one version on its endpoint (nothing recorded) and judge the draft on the default endpoint
    against the reference reply."""
    version, prompt = resolve_version(registry, version_tag)
    (draft,) = llm.at(version.endpoint).complete(
        build_draft_messages(prompt, message),
        model=version.model,
        temperature=0.0,
        logprobs=False,
        max_tokens=settings.max_reply_tokens,
    )
    scores, judged = llm.structured(
        judge_messages(message, draft.text, reference), model=settings.draft_model, output=JudgeScores
    )
    tokens = draft.prompt_tokens + draft.completion_tokens + judged.prompt_tokens + judged.completion_tokens
    cost = settings.cost_usd(draft.model, draft.prompt_tokens, draft.completion_tokens) + settings.cost_usd(
        judged.model, judged.prompt_tokens, judged.completion_tokens
    )
    return Evaluation(version_tag, draft.model, draft.text, scores.overall, scores.comments, tokens, cost)


def case_id(message: str, interaction_id: str | None, given: str | None = None) -> str:
    """The client's id, else the interaction's, else one derived from the message."""
    return given or interaction_id or hashlib.sha256(message.encode()).hexdigest()[:24]


def run_case(
    registry: Registry,
    llm: Llm,
    settings: LlmSettings,
    *,
    baseline: str,
    candidate: str,
    message: str,
    reference: str | None,
    interaction_id: str | None,
    case: str | None = None,
) -> CaseResult:
    """Both versions on one query, concurrently (two drafts and two judgements)."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(evaluate, registry, llm, settings, tag, message, reference) for tag in (baseline, candidate)
        ]
        base, cand = (future.result() for future in futures)
    return CaseResult(
        case_id=case_id(message, interaction_id, case),
        interaction_id=interaction_id,
        message=message,
        baseline_reply=base.reply,
        candidate_reply=cand.reply,
        baseline_score=base.score,
        candidate_score=cand.score,
        comments=f"{baseline}: {base.comments} | {candidate}: {cand.comments}",
        tokens=base.tokens + cand.tokens,
        cost_usd=base.cost_usd + cand.cost_usd,
    )
