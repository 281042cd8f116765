"""The stress-test service on in-memory fakes of its ports: who decides what, without AWS or a model."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from replyloop.domain.clock import format_timestamp
from replyloop.domain.entities import Improvement
from replyloop.domain.errors import ConflictError, InvalidRequestError, NotFoundError
from replyloop.domain.prompts import PromptVersion
from replyloop.domain.retrain_names import TrainerName
from replyloop.domain.runs import NewStressRun, RunSummary, StageChange, StressRun
from replyloop.domain.stress import CaseResult
from replyloop.domain.stress_batch import BatchQuery, Stage
from replyloop.domain.versions import AssistantVersion, VersionStatus
from replyloop.ports import Completion
from replyloop.services import learning, stress
from replyloop.services.retrain import RunOptions
from replyloop.settings import LlmSettings, RetrainSettings

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


class FakeStressLog:
    def __init__(self) -> None:
        self.runs: dict[str, StressRun] = {}
        self.case_log: dict[str, dict[str, CaseResult]] = {}
        self.query_log: dict[str, list[BatchQuery]] = {}

    def create_run(self, run: NewStressRun, now: datetime) -> StressRun:
        created = StressRun(
            run.run_id,
            run.baseline,
            run.candidate,
            run.source,
            run.planned,
            "running",
            run.mode,
            format_timestamp(now),
            stage=Stage.COLLECTING if run.mode == "batch" else None,
        )
        self.runs[run.run_id] = created
        return created

    def get_run(self, run_id: str) -> StressRun:
        if run_id not in self.runs:
            raise NotFoundError(run_id)
        return self.runs[run_id]

    def list_runs(self, limit: int) -> list[StressRun]:
        return sorted(self.runs.values(), key=lambda run: run.created_at, reverse=True)[:limit]

    def save_case(self, run_id: str, result: CaseResult) -> None:
        self.case_log.setdefault(run_id, {})[result.case_id] = result

    def save_cases(self, run_id: str, results: Sequence[CaseResult]) -> None:
        for result in results:
            self.save_case(run_id, result)

    def cases(self, run_id: str) -> list[CaseResult]:
        return list(self.case_log.get(run_id, {}).values())

    def add_queries(self, run_id: str, queries: Sequence[BatchQuery]) -> None:
        self.query_log.setdefault(run_id, []).extend(queries)

    def queries(self, run_id: str) -> list[BatchQuery]:
        return self.query_log.get(run_id, [])

    def complete_run(self, run_id: str, summary: RunSummary, now: datetime) -> None:
        run = self.get_run(run_id)
        self.runs[run_id] = replace(run, status="finished", summary=summary, finished_at=format_timestamp(now))

    def advance_stage(self, run_id: str, expected: Stage, stage: Stage, change: StageChange) -> bool:
        raise AssertionError("live runs never move stages")


class FakeRegistry:
    def __init__(self) -> None:
        self.versions = {
            tag: AssistantVersion(tag, f"model-{tag}", "reply", 1, status, NOW)
            for tag, status in (("v1", VersionStatus.ACTIVE), ("v2", VersionStatus.CANDIDATE))
        }
        self.prompt = PromptVersion("reply", 1, "Be helpful.", NOW)

    def active(self) -> tuple[AssistantVersion, PromptVersion] | None:
        return self.versions["v1"], self.prompt

    def get_version(self, tag: str) -> AssistantVersion | None:
        return self.versions.get(tag)

    def get_prompt_version(self, name: str, version: int) -> PromptVersion | None:
        return self.prompt


class ScoringLlm:
    """Drafts echo the model; the judge gives the candidate's model 8 and everyone else 5."""

    description = "fake"

    def complete(self, messages, *, model, temperature, logprobs, n=1, max_tokens=600):
        return [Completion(f"reply from {model}", None, model, 10, 5)]

    def structured(self, messages, *, model, output, temperature=0.0):
        good = "reply from model-v2" in messages[-1]["content"]
        level = 8 if good else 5
        scores = output(accuracy=level, completeness=level, tone=level, helpfulness=level, comments="ok")
        return scores, Completion("{}", None, model, 3, 2)

    def at(self, endpoint):
        return self


def deps(log: FakeStressLog) -> stress.StressDeps:
    return stress.StressDeps(
        log=log, registry=FakeRegistry(), llm=ScoringLlm(), llm_settings=LlmSettings(), clock=lambda: NOW
    )


def test_start_resolves_the_baseline_to_the_active_version_and_refuses_unknown_versions():
    log = FakeStressLog()
    run = stress.start(deps(log), baseline=None, candidate="v2", source="manual", planned=2, mode="live")
    assert (run.baseline, run.candidate, run.status, run.mode) == ("v1", "v2", "running", "live")
    assert log.get_run(run.run_id) == run
    with pytest.raises(NotFoundError, match="v9"):
        stress.start(deps(log), baseline="v9", candidate="v2", source="manual", planned=0, mode="live")


def test_a_live_run_logs_each_case_and_finishes_with_its_summary():
    log = FakeStressLog()
    run = stress.start(deps(log), baseline=None, candidate="v2", source="manual", planned=1, mode="live")
    case = stress.run_case(deps(log), run.run_id, stress.Query("Where is my parcel?", case_id="c1"))
    assert (case.case_id, case.outcome) == ("c1", "win")
    finished = stress.finish(log, run.run_id, 2.0, lambda: NOW)
    assert (finished.summary.cases, finished.summary.wins, finished.duration_seconds) == (1, 1, 2.0)
    found = stress.get(log, run.run_id)
    assert found.run.status == "finished" and found.duration_seconds == 2.0
    assert found.summary is not None and found.summary.wins == 1 and [c.case_id for c in found.cases] == ["c1"]
    assert stress.list_runs(log, 10) == [found.run]


def test_batch_and_live_runs_refuse_each_others_paths():
    log = FakeStressLog()
    batch = stress.start(deps(log), baseline="v1", candidate="v2", source="manual", planned=0, mode="batch")
    with pytest.raises(ConflictError, match="batch run"):
        stress.run_case(deps(log), batch.run_id, stress.Query("hi"))
    assert stress.add_queries(log, batch.run_id, [stress.Query("hi"), stress.Query("yo", case_id="q2")]) == 2
    assert [q.case_id for q in log.queries(batch.run_id)][1] == "q2"
    live = stress.start(deps(log), baseline="v1", candidate="v2", source="manual", planned=0, mode="live")
    with pytest.raises(ConflictError, match="live run"):
        stress.add_queries(log, live.run_id, [stress.Query("hi")])


def test_the_leaderboard_checks_its_dates_and_matches_categories_in_lower_case():
    asked: list[tuple[str | None, date | None, date | None, int]] = []

    class Store:
        def leaderboard(self, category, start, end, limit):
            asked.append((category, start, end, limit))
            return list[Improvement]()

    with pytest.raises(InvalidRequestError, match="after"):
        learning.leaderboard(Store(), None, date(2026, 2, 1), date(2026, 1, 1), 5)  # type: ignore[arg-type]
    assert learning.leaderboard(Store(), "Too Generic", None, None, 5) == []  # type: ignore[arg-type]
    assert asked == [("too generic", None, None, 5)]


def test_run_options_are_resolved_once_with_every_default_filled_in():
    settings = RetrainSettings(RETRAIN_LOOKBACK_DAYS=7)
    config = RunOptions.model_validate({"evalCases": 3, "trainer": "openai"}).resolve(settings)
    assert config.trainer is TrainerName.OPENAI and config.eval_cases == 3
    assert (config.lookback_days, config.margin, config.max_polls) == (7, settings.margin, settings.max_polls)
    assert type(config).from_json(config.to_json()) == config


def test_a_process_reads_each_versions_model_and_prompt_once_and_never_caches_a_missing_one():
    from replyloop.services import evaluation

    class Counting(FakeRegistry):
        reads = 0

        def get_version(self, tag: str) -> AssistantVersion | None:
            self.reads += 1
            return super().get_version(tag)

    registry = Counting()
    for _ in range(3):
        version, prompt = evaluation.resolve_version(registry, "v2")
    assert (version.model, prompt.text, registry.reads) == ("model-v2", "Be helpful.", 1)
    for _ in range(2):
        with pytest.raises(NotFoundError):
            evaluation.resolve_version(registry, "v9")
    assert registry.reads == 3  # a missing version is asked for again: it may be registered meanwhile
