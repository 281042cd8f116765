"""Retrain runs in the data table: `RETRAIN#<runId>` / `RUN`, listed newest first through gsi1.

A run holds its status, its trigger and trainer, and one entry per step (`steps.<name>`: outcome,
time, details as JSON). Details are stored as JSON text, so floats need no Decimal round trip.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from replyloop.adapters.keys import format_timestamp
from replyloop.adapters.run_log import FieldPath, RunLog
from replyloop.domain.errors import ConflictError
from replyloop.domain.retrain import RunStatus
from replyloop.domain.runs import RetrainConfig, RetrainRun, RunStep


def _step(name: str, stored: str) -> RunStep:
    entry = dict(json.loads(stored))
    outcome, at = str(entry.pop("outcome", "")), str(entry.pop("at", ""))
    return RunStep(name=name, outcome=outcome, at=at, details=entry)


def run_from_item(item: Mapping[str, Any]) -> RetrainRun:
    steps = sorted(
        (_step(name, str(value)) for name, value in (item.get("steps") or {}).items()), key=lambda step: step.at
    )
    return RetrainRun(
        run_id=str(item["runId"]),
        status=RunStatus(str(item["status"])),
        created_at=str(item["createdAt"]),
        trigger=item.get("trigger"),
        trainer=item.get("trainer"),
        requested_by=item.get("requestedBy"),
        execution_arn=item.get("executionArn"),
        finished_at=item.get("finishedAt"),
        reason=item.get("reason"),
        candidate_version=item.get("candidateVersion"),
        steps=tuple(steps),
    )


class DynamoRetrainRuns(RunLog):
    prefix, listing, noun = "RETRAIN", "RETRAINRUNS", "retrain run"

    def create(self, run_id: str, *, trigger: str, trainer: str, requested_by: str | None, now: datetime) -> bool:
        """A new running run; False when it already exists (a retried first step)."""
        fields: dict[str, Any] = {
            "status": RunStatus.RUNNING.value,
            "trigger": trigger,
            "trainer": trainer,
            "steps": {},
            "requestedBy": requested_by or None,
        }
        return self._create(run_id, format_timestamp(now), fields)

    def get(self, run_id: str) -> RetrainRun:
        return run_from_item(self._item(run_id))

    def list(self, limit: int) -> list[RetrainRun]:
        return [run_from_item(item) for item in self._latest(limit)]

    def data(self, run_id: str, name: str) -> Any:
        """A JSON value a step stored for a later one (e.g. the prompt trainer's material)."""
        value = self._item(run_id).get(f"data_{name}")
        return json.loads(str(value)) if value is not None else None

    def save_data(self, run_id: str, name: str, value: Any) -> None:
        self._update_existing(run_id, {f"data_{name}": json.dumps(value)})

    def config(self, run_id: str) -> RetrainConfig | None:
        stored = self.data(run_id, "config")
        return RetrainConfig.from_json(stored) if stored else None

    def save_config(self, run_id: str, config: RetrainConfig) -> None:
        self.save_data(run_id, "config", config.to_json())

    def record_step(self, run_id: str, step: str, outcome: str, details: Mapping[str, Any], now: datetime) -> None:
        entry = json.dumps({"outcome": outcome, "at": format_timestamp(now), **details}, default=str)
        self._update_existing(run_id, {("steps", step): entry})

    def set_execution(self, run_id: str, execution_arn: str) -> None:
        self._update_existing(run_id, {"executionArn": execution_arn})

    def set_candidate(self, run_id: str, version_tag: str) -> None:
        self._update_existing(run_id, {"candidateVersion": version_tag})

    def finish(self, run_id: str, status: RunStatus, reason: str, now: datetime) -> None:
        """The run's final status; a finished run is never changed again (first finish wins)."""
        fields: dict[FieldPath, Any] = {"status": status.value, "reason": reason, "finishedAt": format_timestamp(now)}
        if self._update(run_id, fields, only_if={"status": RunStatus.RUNNING.value}):
            return
        if self._update(run_id, fields, only_if={"status": RunStatus.AWAITING_APPROVAL.value}):
            return
        current = self.get(run_id).status  # NotFoundError when there is no such run
        if current is not status:
            raise ConflictError(f"Retrain run {run_id!r} already finished as {current.value}.")

    def await_approval(self, run_id: str, task_token: str, reason: str, now: datetime) -> None:
        """Running -> awaiting_approval with the task token (a retried step just stores the new token)."""
        fields: dict[FieldPath, Any] = {
            "status": RunStatus.AWAITING_APPROVAL.value,
            "data_taskToken": json.dumps(task_token),
            "reason": reason,
        }
        if self._update(run_id, fields, only_if={"status": RunStatus.RUNNING.value}):
            return
        if not self._update(run_id, fields, only_if={"status": RunStatus.AWAITING_APPROVAL.value}):
            current = self.get(run_id).status
            raise ConflictError(f"Retrain run {run_id!r} already finished as {current.value}.")
