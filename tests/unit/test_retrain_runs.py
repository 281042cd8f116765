"""Reading a run: one whose execution died while running or awaiting approval is failed when read."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from replyloop.domain.retrain import RunStatus
from replyloop.domain.runs import RetrainRun
from replyloop.ports import ExecutionState
from replyloop.services.retrain_runs import read_run

NOW = datetime(2026, 12, 6, tzinfo=UTC)


class Runs:
    def __init__(self, run: RetrainRun) -> None:
        self.run = run

    def get(self, run_id: str) -> RetrainRun:
        return self.run

    def finish(self, run_id: str, status: RunStatus, reason: str, now: datetime) -> None:
        self.run = replace(self.run, status=status, reason=reason)


class Executions:
    def __init__(self, status: str) -> None:
        self.status = status

    def state(self, execution_arn: str) -> ExecutionState:
        return ExecutionState(self.status, "States.Runtime")


@pytest.mark.parametrize("waiting", [RunStatus.RUNNING, RunStatus.AWAITING_APPROVAL])
@pytest.mark.parametrize(("execution", "after"), [("RUNNING", None), ("ABORTED", RunStatus.FAILED)])
def test_a_run_whose_execution_died_is_failed_when_read(waiting, execution, after):
    runs = Runs(RetrainRun("r1", waiting, "2026-12-06T00:00:00Z", execution_arn="arn:exec"))
    read = read_run(runs, Executions(execution), "r1", NOW)  # type: ignore[arg-type]
    assert read.status is (after or waiting)
    if after:
        assert read.reason == "The execution ended as ABORTED: States.Runtime"


def test_a_finished_run_is_not_asked_about_its_execution():
    runs = Runs(RetrainRun("r1", RunStatus.PROMOTED, "2026-12-06T00:00:00Z", execution_arn="arn:exec"))
    assert read_run(runs, Executions("ABORTED"), "r1", NOW).status is RunStatus.PROMOTED  # type: ignore[arg-type]
