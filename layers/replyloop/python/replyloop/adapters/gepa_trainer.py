"""The `gepa` trainer: GEPA (the `gepa` package, core only) evolves the active prompt's text.

- Seed: the active prompt version's text (its exemplars stay as they are). Trainset and valset: the
  export's `feedback_train.jsonl` and `feedback_validation.jsonl` (train and validation splits; the
  gate's held-out split is never among them, `domain.training.split_of`).
- Metric (`ReplyAdapter.evaluate`): draft with the candidate prompt through the LLM port, judge the
  draft against the preferred reply, 0-1 (`domain.gepa.unit_score`); the feedback GEPA reflects on is
  `domain.gepa.feedback_text`. Reflection: the configured model (`DRAFT_MODEL`) through the same port,
  with replyloop's template (customer text delimited).
- Budget: `maxMetricCalls` (one metric call = one case scored = a draft and a judgement). GEPA checks
  its budget only between iterations, so an iteration is started only when its worst case still fits
  (`domain.gepa.can_afford_iteration`): `metricCalls` never exceeds the budget.
- Longer than one invocation: GEPA's run directory is a tarball at
  `s3://<TrainingBucket>/retrain/<runId>/gepa/checkpoint.tar.gz`, uploaded at every iteration boundary
  and when the invocation stops (its remaining time no longer fits twice the longest iteration). The
  next invocation (the state machine's Optimize loop, or a retry of a failed one) restores it and GEPA
  resumes from its saved state: metric calls are GEPA's own count in that state, so work lost with an
  interrupted invocation is neither kept nor counted. Scored drafts are memoised in the checkpoint
  (`memo.json`), so a resumed run does not pay again for the seed's validation scores GEPA recomputes.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import tarfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from replyloop.adapters.training_files import read_object
from replyloop.domain.deadline import Deadline
from replyloop.domain.errors import LlmRefusedError, LlmUnavailableError, StorageError
from replyloop.domain.gepa import (
    COMPONENT,
    MAX_TRAINSET,
    MINIBATCH,
    REFLECTION_TEMPLATE,
    CandidateScore,
    FeedbackCase,
    best_candidate,
    can_afford_iteration,
    reflective_record,
    smallest_budget,
    unit_score,
    valset_size,
)
from replyloop.domain.learning import judge_messages
from replyloop.domain.prompts import Exemplar, PromptVersion, build_draft_messages, diff_prompts
from replyloop.domain.retrain_names import TrainerName
from replyloop.domain.runs import TrainerError, TrainingContext, TrainingState
from replyloop.ports import Llm, Registry
from replyloop.settings import LlmSettings

logger = logging.getLogger(__name__)

TRAIN_FILE, VALIDATION_FILE = "feedback_train.jsonl", "feedback_validation.jsonl"
SEED_FILE, MEMO_FILE, PROGRESS_FILE, LOG_FILE = "seed.json", "memo.json", "progress.json", "run_log.txt"
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
MAX_DIFF_CHARS = 8_000
REFLECTION_MAX_TOKENS = 2_000
REFLECTION_TEMPERATURE = 0.7
SCORING_THREADS = 4


# -- the checkpoint ---------------------------------------------------------------------------------


class S3Checkpoints:
    """A run's GEPA directory as one object (a put is atomic: a reader sees the old tarball or the new)."""

    def __init__(self, client: Any, bucket: str, prefix: str = "retrain") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def key(self, run_id: str, name: str = "checkpoint.tar.gz") -> str:
        return f"{self.prefix}/{run_id}/gepa/{name}"

    def restore(self, run_id: str, directory: Path) -> bool:
        """Unpack the run's checkpoint into `directory`; False when there is none yet."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(run_id))["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return False
            raise StorageError("The training bucket did not answer; try again shortly.") from error
        except BotoCoreError as error:
            raise StorageError("The training bucket did not answer; try again shortly.") from error
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
            archive.extractall(directory, filter="data")  # our own object; still, nothing outside `directory`
        return True

    def save(self, run_id: str, directory: Path, progress: Mapping[str, Any]) -> None:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path in sorted(directory.rglob("*")):
                if path.is_file() and not path.name.endswith(".tmp"):
                    archive.add(path, arcname=str(path.relative_to(directory)))
        try:
            self.client.put_object(Bucket=self.bucket, Key=self.key(run_id), Body=buffer.getvalue())
            self.client.put_object(
                Bucket=self.bucket,
                Key=self.key(run_id, PROGRESS_FILE),
                Body=json.dumps(progress).encode(),
                ContentType="application/json",
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError("The training bucket did not take the checkpoint; try again shortly.") from error

    def progress(self, run_id: str) -> dict[str, Any] | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self.key(run_id, PROGRESS_FILE))["Body"].read()
        except ClientError:
            return None
        value = json.loads(body)
        return value if isinstance(value, dict) else None


# -- GEPA's adapter: the metric and the reflection ----------------------------------------------------


@dataclass(slots=True)
class Usage:
    llm_calls: int = 0
    tokens: int = 0
    cost_usd: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {"llmCalls": self.llm_calls, "tokens": self.tokens, "costUsd": round(self.cost_usd, 6)}


class ReplyAdapter:
    """`gepa.GEPAAdapter` for replyloop: a candidate is {"instructions": prompt text}; a case is a FeedbackCase."""

    propose_new_texts = None  # GEPA's default proposer, with `reflect` as its reflection LM

    def __init__(
        self,
        llm: Llm,
        settings: LlmSettings,
        *,
        prompt_name: str,
        exemplars: Sequence[Exemplar],
        draft_model: str,
        draft_endpoint: str = "openai",
        memo: dict[str, dict[str, Any]] | None = None,
        usage: Usage | None = None,
    ) -> None:
        self.llm, self.settings = llm, settings
        self.prompt_name, self.exemplars, self.draft_model = prompt_name, tuple(exemplars), draft_model
        self.draft_endpoint = draft_endpoint
        self.memo: dict[str, dict[str, Any]] = memo if memo is not None else {}
        self.usage = usage or Usage()
        self.failure: LlmUnavailableError | None = None
        self._lock = threading.Lock()

    def _charge(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        with self._lock:
            self.usage.llm_calls += 1
            self.usage.tokens += prompt_tokens + completion_tokens
            self.usage.cost_usd += self.settings.cost_usd(model, prompt_tokens, completion_tokens)

    def score(self, text: str, case: FeedbackCase) -> dict[str, Any]:
        """Draft with `text` as the prompt on the version's endpoint, judge on the default endpoint against the
        preferred reply, as the gate's evaluation does (memoised per text and case)."""
        key = hashlib.sha256(f"{text}\x00{case.interaction_id}".encode()).hexdigest()[:32]
        known = self.memo.get(key)
        if known is not None:
            return known
        from replyloop.models.llm import JudgeScores

        prompt = PromptVersion(self.prompt_name, 0, text, EPOCH, exemplars=self.exemplars)
        try:
            (draft,) = self.llm.at(self.draft_endpoint).complete(
                build_draft_messages(prompt, case.message),
                model=self.draft_model,
                temperature=0.0,
                logprobs=False,
                max_tokens=self.settings.max_reply_tokens,
            )
            self._charge(draft.model, draft.prompt_tokens, draft.completion_tokens)
            scores, judged = self.llm.structured(
                judge_messages(case.message, draft.text, case.reference),
                model=self.settings.draft_model,
                output=JudgeScores,
            )
            self._charge(judged.model, judged.prompt_tokens, judged.completion_tokens)
            result = {"draft": draft.text, "score": unit_score(scores.overall), "comments": scores.comments}
        except LlmRefusedError as error:  # this case only; an unavailable model stops the invocation
            result = {"draft": "", "score": 0.0, "comments": f"No draft to judge: {error}"}
        with self._lock:
            self.memo[key] = result
        return result

    def evaluate(self, batch: list[FeedbackCase], candidate: dict[str, str], capture_traces: bool = False) -> Any:
        from gepa import EvaluationBatch

        text = candidate[COMPONENT]
        with ThreadPoolExecutor(max_workers=SCORING_THREADS) as pool:
            results = list(pool.map(lambda case: self.score(text, case), batch))
        trajectories = [{"case": case.to_json(), **result} for case, result in zip(batch, results, strict=True)]
        return EvaluationBatch(
            outputs=[{"draft": result["draft"]} for result in results],
            scores=[float(result["score"]) for result in results],
            trajectories=trajectories if capture_traces else None,
        )

    def make_reflective_dataset(
        self, candidate: dict[str, str], eval_batch: Any, components_to_update: list[str]
    ) -> dict[str, list[dict[str, str]]]:
        records = [
            reflective_record(FeedbackCase.from_json(t["case"]), t["draft"], t["score"], t["comments"])
            for t in eval_batch.trajectories or []
        ]
        return dict.fromkeys(components_to_update, records)

    def reflect(self, prompt: str) -> str:
        """GEPA's reflection LM: the configured model, through the LLM port.

        GEPA treats a failed reflection as a skipped iteration; an unavailable model is kept in `failure`
        so the trainer stops and re-raises it (the step is retried from the last checkpoint) instead of
        spending the budget on iterations that cannot reflect."""
        try:
            (answer,) = self.llm.complete(
                [{"role": "user", "content": prompt}],
                model=self.settings.draft_model,
                temperature=REFLECTION_TEMPERATURE,
                logprobs=False,
                max_tokens=REFLECTION_MAX_TOKENS,
            )
        except LlmUnavailableError as error:
            self.failure = error
            raise
        self._charge(answer.model, answer.prompt_tokens, answer.completion_tokens)
        return answer.text


# -- stopping and checkpointing -------------------------------------------------------------------------


class _RunLog:
    """GEPA's logger (its own swaps sys.stdout process-wide): lines to run_log.txt in the run directory."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def log(self, message: str) -> None:
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(message.rstrip() + "\n")
        logger.debug("gepa: %s", message)


class _Stops:
    """GEPA's stop condition, asked before each iteration: the budget, then this invocation's time.

    When the answer is "go on", the state GEPA is about to save is checkpointed first (`on_continue`):
    an error there stops the invocation (GEPA's callbacks would swallow it), and the state uploaded is
    the one the next iteration starts from.
    """

    def __init__(
        self,
        budget: int,
        valset: int,
        deadline: Deadline | None,
        longest: float,
        iterations: int | None,
        on_continue: Callable[[Any], None],
        failed: Callable[[], bool],
    ) -> None:
        self.budget, self.valset, self.deadline = budget, valset, deadline
        self.longest, self.iterations, self.on_continue, self.failed = longest, iterations, on_continue, failed
        self.started = 0
        self.reason: str | None = None
        self.state: Any = None
        self._last: float | None = None

    def __call__(self, state: Any) -> bool:
        now = time.monotonic()
        if self._last is not None:
            self.longest = max(self.longest, now - self._last)
        self._last = now
        self.state = state
        if self.failed():
            self.reason = "error"
        elif not can_afford_iteration(state.total_num_evals, self.budget, self.valset):
            self.reason = "budget"
        elif self.iterations is not None and self.started >= self.iterations:
            self.reason = "invocation"
        elif self.deadline is not None and self.deadline.seconds_left() < max(MIN_RESERVE_SECONDS, 2 * self.longest):
            self.reason = "time"
        else:
            self.on_continue(state)
            self.started += 1
            self._last = time.monotonic()  # the checkpoint's upload is not the iteration's time
            return False
        return True


MIN_RESERVE_SECONDS = 60.0  # before the first iteration's length is known


# -- the trainer -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Seed:
    """What the run started from, fixed in the checkpoint: a version activated mid-run changes nothing."""

    name: str
    version: int
    text: str
    model: str
    exemplars: tuple[Exemplar, ...]
    endpoint: str = "openai"  # where the version's model is served (its drafts are made there)

    def to_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "name": self.name,
            "version": self.version,
            "text": self.text,
            "model": self.model,
            "exemplars": [{"message": e.message, "reply": e.reply} for e in self.exemplars],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> _Seed:
        exemplars = tuple(Exemplar(str(e["message"]), str(e["reply"])) for e in data["exemplars"])
        return cls(
            str(data["name"]),
            int(data["version"]),
            str(data["text"]),
            str(data["model"]),
            exemplars,
            str(data.get("endpoint") or "openai"),
        )


class GepaTrainer:
    """Each `start`/`poll` advances the optimisation within the invocation and says whether to come back."""

    name = TrainerName.GEPA
    # Iterations one invocation may run (None: as many as its time allows); tests set it to force resumes.
    iterations_per_invocation: int | None = None

    def __init__(self, registry: Registry, llm: Llm, settings: LlmSettings, s3: Any, bucket: str) -> None:
        self.registry, self.llm, self.settings = registry, llm, settings
        self.s3, self.bucket = s3, bucket
        self.checkpoints = S3Checkpoints(s3, bucket)

    def start(self, context: TrainingContext) -> TrainingState:
        return self._advance(context)

    def poll(self, context: TrainingContext, state: TrainingState) -> TrainingState:
        return self._advance(context)

    def _cases(self, context: TrainingContext, name: str) -> list[FeedbackCase]:
        location = context.files.get(name)
        if not location:
            return []
        text = read_object(self.s3, self.bucket, location).decode("utf-8")
        return [FeedbackCase.from_json(json.loads(line)) for line in text.splitlines() if line.strip()]

    def _advance(self, context: TrainingContext) -> TrainingState:
        import tempfile

        marker = f"Retrain run {context.run_id}."
        versions = self.registry.list_prompt_versions(context.active_prompt.name)
        made = next((p for p in versions if p.improvement_notes.startswith(marker)), None)
        if made is not None:  # a retry after the prompt version was written
            progress = self.checkpoints.progress(context.run_id) or {}
            return TrainingState(
                "succeeded",
                model=str(progress.get("model") or context.active.model),
                prompt_version=made.version,
                detail=f"GEPA chose prompt {made.name} v{made.version}.",
                progress=progress,
            )
        with tempfile.TemporaryDirectory(prefix="gepa-") as folder:
            return self._optimise(context, Path(folder), marker)

    def _optimise(self, context: TrainingContext, run_dir: Path, marker: str) -> TrainingState:  # noqa: PLR0915
        import gepa

        resumed = self.checkpoints.restore(context.run_id, run_dir)
        if resumed:
            seed = _Seed.from_json(json.loads((run_dir / SEED_FILE).read_text()))
            memo = json.loads((run_dir / MEMO_FILE).read_text()) if (run_dir / MEMO_FILE).exists() else {}
            before = json.loads((run_dir / PROGRESS_FILE).read_text()) if (run_dir / PROGRESS_FILE).exists() else {}
        else:
            prompt = context.active_prompt
            active = context.active
            seed = _Seed(prompt.name, prompt.version, prompt.text, active.model, prompt.exemplars, active.endpoint)
            (run_dir / SEED_FILE).write_text(json.dumps(seed.to_json()))
            memo, before = {}, {}

        budget = context.max_metric_calls
        train = self._cases(context, TRAIN_FILE)[:MAX_TRAINSET]
        validation = self._cases(context, VALIDATION_FILE)
        if not train:
            raise TrainerError(f"The export wrote no {TRAIN_FILE}: the gepa trainer has no cases to learn from.")
        # With no validation split (a small export), GEPA scores candidates on the train cases, as it does
        # when given no valset; the gate's held-out cases stay out either way.
        pool, pool_name = (validation, "validation") if validation else (train, "train")
        valset = pool[: valset_size(budget, len(pool))]
        if not valset or budget < smallest_budget(len(valset)):
            raise TrainerError(
                f"maxMetricCalls {budget} cannot pay for scoring the incumbent prompt on the validation cases "
                f"and one GEPA iteration (at least {smallest_budget(max(1, len(valset)))} metric calls)."
            )

        usage = Usage(**{k: before.get(v, 0) for k, v in (("llm_calls", "llmCalls"), ("tokens", "tokens"))})
        usage.cost_usd = float(before.get("costUsd", 0.0))
        llm = self.llm.within(context.deadline) if context.deadline is not None else self.llm
        adapter = ReplyAdapter(
            llm,
            self.settings,
            prompt_name=seed.name,
            exemplars=seed.exemplars,
            draft_model=seed.model,
            draft_endpoint=seed.endpoint,
            memo=memo,
            usage=usage,
        )
        invocations = int(before.get("invocations", 0)) + 1
        # The metric calls each resumed invocation found in the checkpoint (a retried one repeats a figure).
        resumed_at = [*before.get("resumedAt", []), *([int(before.get("metricCalls", 0))] if resumed else [])]

        def progress_of(state_like: Any, *, finished: bool) -> dict[str, Any]:
            parents = [p[0] if p and p[0] is not None else None for p in state_like["parents"]]
            scores = [
                CandidateScore(i, parents[i], float(score), int(state_like["discovered"][i]))
                for i, score in enumerate(state_like["scores"])
            ]
            best = best_candidate(scores)
            return {
                "budget": budget,
                "metricCalls": int(state_like["metricCalls"]),
                **usage.to_json(),
                "iterations": int(state_like["iterations"]),
                "invocations": invocations,
                "resumedAt": resumed_at,
                "trainCases": len(train),
                "valCases": len(valset),
                "valSplit": pool_name,
                "candidates": {"count": len(scores), "items": [s.to_json() for s in scores]},
                "seedScore": round(scores[0].validation_score, 4),
                "bestCandidate": best.index,
                "bestScore": round(best.validation_score, 4),
                "finished": finished,
                "stoppedBy": stops.reason,
                "longestIterationSeconds": round(stops.longest, 3),
                "model": seed.model,
                "seedPromptVersion": seed.version,
            }

        def of_state(state: Any) -> dict[str, Any]:
            return {
                "parents": state.parent_program_for_candidate,
                "scores": state.program_full_scores_val_set,
                "discovered": state.num_metric_calls_by_discovery,
                "metricCalls": state.total_num_evals,
                "iterations": state.i + 1,
            }

        def checkpoint(progress: Mapping[str, Any]) -> None:
            (run_dir / MEMO_FILE).write_text(json.dumps(adapter.memo))
            (run_dir / PROGRESS_FILE).write_text(json.dumps(progress))
            self.checkpoints.save(context.run_id, run_dir, progress)

        def save_and_checkpoint(state: Any) -> None:
            state.save(str(run_dir))  # what GEPA saves next, saved now so the upload holds it
            checkpoint(progress_of(of_state(state), finished=False))

        stops = _Stops(
            budget,
            len(valset),
            context.deadline,
            longest=float(before.get("longestIterationSeconds", 0.0)),
            iterations=self.iterations_per_invocation,
            on_continue=save_and_checkpoint,
            failed=lambda: adapter.failure is not None,
        )

        optimize: Any = gepa.optimize  # its generic types do not see our adapter's duck typing
        result = optimize(
            seed_candidate={COMPONENT: seed.text},
            trainset=train,
            valset=valset,
            adapter=adapter,
            reflection_lm=adapter.reflect,
            reflection_prompt_template=REFLECTION_TEMPLATE,
            reflection_minibatch_size=MINIBATCH,
            max_metric_calls=budget,
            stop_callbacks=stops,
            run_dir=str(run_dir),
            logger=_RunLog(run_dir / LOG_FILE),
            track_best_outputs=False,
            display_progress_bar=False,
            raise_on_exception=True,
            seed=0,
        )
        if adapter.failure is not None:  # not checkpointed: the retry starts from the iteration's beginning
            raise adapter.failure
        finished = stops.reason == "budget"
        progress = progress_of(of_state(stops.state), finished=finished)
        checkpoint(progress)
        if progress["metricCalls"] > budget:  # pragma: no cover - the stop condition above prevents it
            raise TrainerError(f"GEPA overspent its budget: {progress['metricCalls']} of {budget} metric calls.")
        summary = (
            f"GEPA: {progress['metricCalls']} of {budget} metric calls, {progress['candidates']['count']} candidates, "
            f"best validation score {progress['bestScore']} (incumbent prompt {progress['seedScore']}) on "
            f"{len(valset)} {pool_name} cases, {usage.llm_calls} LLM calls"
        )
        if not finished:
            return TrainingState(
                "running",
                model=seed.model,
                prompt_version=seed.version,
                detail=f"{summary}; continuing in the next invocation.",
                again=True,
                progress=progress,
            )
        best = progress["bestCandidate"]
        if best == 0:  # failed, with the search on record: the run ends with this reason
            return TrainingState(
                "failed",
                model=seed.model,
                prompt_version=seed.version,
                detail=f"{summary}: no candidate scored above the incumbent prompt on the validation cases; "
                "the budget is spent and the incumbent stays.",
                progress=progress,
            )
        existing = self.registry.list_prompt_versions(seed.name)
        made = PromptVersion(
            name=seed.name,
            version=max(p.version for p in existing) + 1,
            text=result.candidates[best][COMPONENT],
            updated_at=context.now,
            improvement_notes=f"{marker} {summary}; candidate {best} chosen.",
            exemplars=seed.exemplars,
        )
        self.registry.put_prompt_version(made)
        incumbent = PromptVersion(seed.name, seed.version, seed.text, context.now, exemplars=seed.exemplars)
        unified, _ = diff_prompts(incumbent, made)
        progress["chosen"] = {
            "candidate": best,
            "promptVersion": made.version,
            "diffUrl": f"/api/prompts/{seed.name}/diff?from={seed.version}&to={made.version}",
            "diff": unified[:MAX_DIFF_CHARS],
            "diffTruncated": len(unified) > MAX_DIFF_CHARS,
        }
        self.checkpoints.save(context.run_id, run_dir, progress)
        return TrainingState(
            "succeeded",
            model=seed.model,
            endpoint=seed.endpoint,
            prompt_version=made.version,
            detail=f"{summary}; prompt {made.name} v{made.version} is candidate {best}.",
            progress=progress,
        )
