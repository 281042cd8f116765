"""Learning curve: simulated weeks of traffic, each trainer retraining weekly, the held-out score per week.

    python bench/learning_curve.py            # 6 weeks of 60 messages, gepa budget 100 (a few minutes)
    python bench/learning_curve.py --smoke    # 2 weeks of 24 messages, gepa budget 40 (seconds)

Three arms start from the same bare prompt (the default, no exemplars) and see the same traffic:
`incumbent` never retrains; `compile` and `gepa` retrain every week on their own failures, and a
candidate replaces the arm's prompt only when it passes the product's gate (`domain.retrain.decide`)
on that week's held-out messages. Each week prints, per arm, the mean judge score (1-10, against the
agent's reply) of the prompt it serves after that week, on one fixed held-out set no trainer ever sees,
and the trainer's cost in LLM calls (gate evaluations, equal for both, are not counted).

It runs in-process, not on the local stack: the retrain code is the product's own (the export's
redaction and three-way split by message digest, `compile_prompt`, `GepaTrainer` with its checkpoint
in moto's S3, the gate), with the offline model through the LLM port; drafting, verdicts and the
explain worker's analysis are simulated with the same offline model. On the local stack each week's
traffic would go through the HTTP API and the learning workers (seeding 240 interactions takes about
4 minutes on 2 cores in `tests/integration/test_retrain_flow.py`): minutes per week spent on the stack,
not on anything the curve measures.

OFFLINE NUMBERS SHOW THE PLUMBING, NOT MODEL QUALITY: the offline model drafts by copying the nearest
example reply in its prompt and its judge scores word overlap. A real model's curve needs
LLM_PROVIDER=openai and a key (it then makes real, billed calls).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
)
for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
    os.environ.pop(name, None)

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from replyloop.adapters.gepa_trainer import GepaTrainer  # noqa: E402
from replyloop.adapters.llm import build_llm  # noqa: E402
from replyloop.adapters.redaction import redact  # noqa: E402
from replyloop.domain.entities import Feedback, Interaction, Verdict  # noqa: E402
from replyloop.domain.gepa import FeedbackCase  # noqa: E402
from replyloop.domain.learning import explain_messages, judge_messages  # noqa: E402
from replyloop.domain.prompts import DEFAULT_PROMPT_TEXT, PromptVersion, build_draft_messages  # noqa: E402
from replyloop.domain.retrain import PromptMaterial, compile_prompt, decide, evidence_of  # noqa: E402
from replyloop.domain.runs import TrainerError, TrainingContext  # noqa: E402
from replyloop.domain.stress import CaseResult  # noqa: E402
from replyloop.domain.training import FailedReply, split_of  # noqa: E402
from replyloop.domain.versions import AssistantVersion, VersionStatus  # noqa: E402
from replyloop.local.seed import SCENARIOS, _person  # noqa: E402
from replyloop.models.llm import FailureExplanation, JudgeScores  # noqa: E402
from replyloop.settings import LlmSettings  # noqa: E402

NOW = datetime(2026, 12, 7, tzinfo=UTC)
MODEL = "gpt-4o-mini"
VALIDATION_SHARE, HOLDOUT_SHARE = 0.2, 0.25
USEFUL_AT = 7.0  # a draft the judge scores below this (1-10, against the agent's reply) gets a "no"
BUCKET = "bench-training"


@dataclass
class Message:
    text: str
    agent_reply: str
    topic: str


@dataclass
class Arm:
    name: str
    prompt: PromptVersion
    failures: list[FailedReply] = field(default_factory=list)
    llm_calls: int = 0  # the trainer's, all weeks
    promotions: int = 0


def traffic(rng: random.Random, count: int) -> list[Message]:
    """Customer messages from the demo scenarios, redacted as the export redacts them."""
    messages = []
    for _ in range(count):
        scenario, person = rng.choice(SCENARIOS), _person(rng)
        text = redact(scenario.message.format(**person))
        reply = redact(scenario.agent_reply.format(**person), known_names=text.names).text
        messages.append(Message(text.text, reply, scenario.topic))
    return messages


class Model:
    """The offline model through the LLM port, as the functions call it."""

    def __init__(self) -> None:
        self.settings = LlmSettings(LLM_PROVIDER=os.environ.get("LLM_PROVIDER") or "offline")
        self.llm = build_llm(self.settings)

    def draft(self, prompt: PromptVersion, message: str) -> str:
        (draft,) = self.llm.complete(
            build_draft_messages(prompt, message), model=MODEL, temperature=0.0, logprobs=False
        )
        return draft.text

    def judge(self, message: str, reply: str, reference: str) -> float:
        scores, _ = self.llm.structured(judge_messages(message, reply, reference), model=MODEL, output=JudgeScores)
        return scores.overall

    def explain(self, message: Message, ai_reply: str) -> FailureExplanation:
        interaction = Interaction("i", message.text, ai_reply, "bench", NOW, "bench")
        feedback = Feedback("i", Verdict.NOT_USEFUL, NOW, "agent", 1, agent_reply=message.agent_reply)
        explained, _ = self.llm.structured(
            explain_messages(interaction, feedback, ["too generic"]), model=MODEL, output=FailureExplanation
        )
        return explained


def serve_week(model: Model, arm: Arm, week: int, messages: list[Message]) -> None:
    """The arm drafts every message; the ones it fails (train and validation splits) become training rows."""
    for index, message in enumerate(messages):
        if split_of(message.text, VALIDATION_SHARE, HOLDOUT_SHARE) == "holdout":
            continue
        reply = model.draft(arm.prompt, message.text)
        if model.judge(message.text, reply, message.agent_reply) >= USEFUL_AT:
            continue
        explained = model.explain(message, reply)
        arm.failures.append(
            FailedReply(
                interaction_id=f"{arm.name}-w{week}-{index}",
                message=message.text,
                ai_reply=reply,
                agent_reply=message.agent_reply,
                corrected_reply=None,
                failure_category=explained.failure_category,
                explanation=explained.explanation,
                score_gain=1.0,
                topic=message.topic,
            )
        )


def mean_score(model: Model, prompt: PromptVersion, held_out: list[Message]) -> float:
    scores = [model.judge(m.text, model.draft(prompt, m.text), m.agent_reply) for m in held_out]
    return sum(scores) / len(scores)


def gate(model: Model, current: PromptVersion, candidate: PromptVersion, cases: list[Message], seed: str) -> bool:
    results = []
    for index, message in enumerate(cases):
        before, after = model.draft(current, message.text), model.draft(candidate, message.text)
        results.append(
            CaseResult(
                case_id=str(index),
                interaction_id=None,
                message=message.text,
                baseline_reply=before,
                candidate_reply=after,
                baseline_score=model.judge(message.text, before, message.agent_reply),
                candidate_score=model.judge(message.text, after, message.agent_reply),
                comments="",
                tokens=0,
                cost_usd=0.0,
            )
        )
    decision = decide(evidence_of(results, seed=seed), margin=0.5, max_loss_share=0.3, min_cases=min(5, len(cases)))
    return decision.passed


class Registry:
    def __init__(self, prompt: PromptVersion) -> None:
        self.prompts = [prompt]

    def list_prompt_versions(self, name: str) -> list[PromptVersion]:
        return list(self.prompts)

    def put_prompt_version(self, prompt: PromptVersion) -> None:
        self.prompts.append(prompt)


def train_compile(arm: Arm, week: int) -> PromptVersion:
    material = PromptMaterial()
    for row in arm.failures:
        if split_of(row.message, VALIDATION_SHARE, HOLDOUT_SHARE) == "train":
            material.add(row)
    compiled = compile_prompt(arm.prompt.text, arm.prompt.exemplars, material)
    return PromptVersion("reply", week + 1, compiled.text, NOW, compiled.improvement_notes, compiled.exemplars)


def train_gepa(model: Model, s3: object, arm: Arm, week: int, budget: int) -> tuple[PromptVersion | None, dict]:
    """The product's GepaTrainer, its files and checkpoint in moto's S3, looped as the state machine loops it."""
    run_id = f"bench-week-{week}"
    files = {}
    for split in ("train", "validation"):
        lines = [
            json.dumps(
                FeedbackCase(
                    r.interaction_id,
                    r.message,
                    r.preferred_reply or "",
                    r.agent_reply,
                    r.ai_reply,
                    r.failure_category,
                    r.explanation,
                    r.topic,
                ).to_json()
            )
            for r in arm.failures
            if split_of(r.message, VALIDATION_SHARE, HOLDOUT_SHARE) == split
        ]
        key = f"retrain/{run_id}/feedback_{split}.jsonl"
        s3.put_object(Bucket=BUCKET, Key=key, Body="\n".join(lines).encode())  # type: ignore[attr-defined]
        files[f"feedback_{split}.jsonl"] = f"s3://{BUCKET}/{key}"
    registry = Registry(arm.prompt)
    active = AssistantVersion("serving", MODEL, "reply", arm.prompt.version, VersionStatus.ACTIVE, NOW)
    context = TrainingContext(run_id, active, arm.prompt, PromptMaterial(), files, NOW, max_metric_calls=budget)
    trainer = GepaTrainer(registry, model.llm, model.settings, s3, BUCKET)
    try:
        state = trainer.start(context)
        while state.status == "running":
            state = trainer.poll(context, state)
    except TrainerError as error:  # e.g. a budget too small for the week's validation cases
        return None, {"error": str(error)}
    if state.status != "succeeded":  # the budget is spent and no candidate beat the arm's prompt
        return None, dict(state.progress or {})
    made = registry.prompts[-1]
    return PromptVersion("reply", week + 1, made.text, NOW, made.improvement_notes, made.exemplars), dict(
        state.progress or {}
    )


def retrain_week(
    model: Model,
    s3: object,
    arms: list[Arm],
    week: int,
    gate_cases: list[Message],
    held_out: list[Message],
    budget: int,
) -> tuple[dict[str, tuple[float, int, str]], str]:
    """Each arm trains, its candidate faces the gate; per arm: held-out score after the week, LLM calls, promoted."""
    row: dict[str, tuple[float, int, str]] = {}
    gepa_note = ""
    for arm in arms:
        calls, promoted = 0, ""
        candidate: PromptVersion | None = None
        if arm.name == "compile" and arm.failures:
            candidate = train_compile(arm, week)
        elif arm.name == "gepa" and arm.failures:
            started = time.perf_counter()
            candidate, progress = train_gepa(model, s3, arm, week, budget)
            calls = int(progress.get("llmCalls", 0))
            explored = progress.get("candidates", {}).get("count", "-")
            gepa_note = f"{progress.get('metricCalls', '-')}/{budget}, {explored}, {time.perf_counter() - started:.1f}"
            gepa_note += " (no better prompt)" if candidate is None else ""
        arm.llm_calls += calls
        if candidate is not None and gate_cases and gate(model, arm.prompt, candidate, gate_cases, f"w{week}"):
            arm.prompt, promoted = candidate, "yes"
            arm.promotions += 1
        row[arm.name] = (mean_score(model, arm.prompt, held_out), calls, promoted)
    return row, gepa_note


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--smoke", action="store_true", help="2 weeks of 24 messages, gepa budget 40")
    parser.add_argument("--weeks", type=int, default=None)
    parser.add_argument("--per-week", type=int, default=None, help="messages per simulated week")
    parser.add_argument("--budget", type=int, default=None, help="the gepa trainer's maxMetricCalls")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    weeks = args.weeks or (2 if args.smoke else 6)
    per_week = args.per_week or (24 if args.smoke else 60)
    budget = args.budget or (40 if args.smoke else 100)

    rng = random.Random(args.seed)
    model = Model()
    held_out = [m for m in traffic(rng, 400) if split_of(m.text, VALIDATION_SHARE, HOLDOUT_SHARE) == "holdout"]
    held_out = held_out[: (12 if args.smoke else 40)]
    bare = PromptVersion("reply", 1, DEFAULT_PROMPT_TEXT, NOW)
    arms = [Arm("incumbent", bare), Arm("compile", bare), Arm("gepa", bare)]
    print(
        f"Learning curve: {weeks} weeks x {per_week} messages, gepa maxMetricCalls {budget}, "
        f"{len(held_out)} fixed held-out messages; model: {model.llm.description}"
    )
    print("OFFLINE NUMBERS SHOW THE PLUMBING, NOT MODEL QUALITY (the offline model copies its nearest example).")
    print()
    header = (
        f"{'week':>4} | {'incumbent':>9} | {'compile':>7} {'calls':>5} {'new':>3} | {'gepa':>6} {'calls':>5} {'new':>3}"
    )
    print(header + f" | {'gepa: metric calls, candidates, s':34}")
    print("-" * len(header) + "-" * 40)
    start = {arm.name: mean_score(model, arm.prompt, held_out) for arm in arms}
    zero = f"{0:5} {'':3}"
    print(f"{0:>4} | {start['incumbent']:9.2f} | {start['compile']:7.2f} {zero} | {start['gepa']:6.2f} {zero} |")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        for week in range(1, weeks + 1):
            messages = traffic(rng, per_week)
            gate_cases = [m for m in messages if split_of(m.text, VALIDATION_SHARE, HOLDOUT_SHARE) == "holdout"]
            for arm in arms:
                serve_week(model, arm, week, messages)
            row, gepa_note = retrain_week(model, s3, arms, week, gate_cases, held_out, budget)
            inc, comp, gep = row["incumbent"], row["compile"], row["gepa"]
            print(
                f"{week:>4} | {inc[0]:9.2f} | {comp[0]:7.2f} {comp[1]:5} {comp[2]:>3} | "
                f"{gep[0]:6.2f} {gep[1]:5} {gep[2]:>3} | {gepa_note}"
            )
    print()
    print(
        "score: mean judge score 1-10 of the prompt each arm serves after the week, on the fixed held-out set; "
        "calls: the trainer's LLM calls that week (compile makes none); new: the gate promoted its candidate."
    )
    totals = ", ".join(f"{arm.name} {arm.llm_calls} LLM calls, {arm.promotions} promotions" for arm in arms)
    print(f"Totals: {totals}.")
    print("Offline numbers show the plumbing, not model quality.")


if __name__ == "__main__":
    main()
