"""Starting and reading retrain executions (Step Functions)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from replyloop.domain.errors import ConflictError, StorageError
from replyloop.ports import ExecutionState


class StepFunctionsExecutions:
    def __init__(self, state_machine_arn: str, client: Any | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self._client = client or boto3.client("stepfunctions")

    def start(self, run_id: str, payload: Mapping[str, Any]) -> str:
        """Start the run; its execution's name is the run id, so a second start of one run is refused."""
        try:
            started = self._client.start_execution(
                stateMachineArn=self.state_machine_arn, name=run_id, input=json.dumps(payload)
            )
        except (ClientError, BotoCoreError) as error:
            raise StorageError("Step Functions did not start the retrain run; try again shortly.") from error
        return str(started["executionArn"])

    def state(self, execution_arn: str) -> ExecutionState:
        try:
            described = self._client.describe_execution(executionArn=execution_arn)
        except (ClientError, BotoCoreError) as error:
            raise StorageError("Step Functions did not answer; try again shortly.") from error
        cause = " ".join(str(described.get(key) or "") for key in ("error", "cause")).strip()
        return ExecutionState(str(described["status"]), cause)

    def resume(self, task_token: str, output: Mapping[str, Any]) -> None:
        try:
            self._client.send_task_success(taskToken=task_token, output=json.dumps(output))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in ("TaskDoesNotExist", "TaskTimedOut", "InvalidToken"):
                raise ConflictError("The run is no longer waiting for approval (it expired or was decided).") from error
            raise StorageError("Step Functions did not answer; try again shortly.") from error
        except BotoCoreError as error:
            raise StorageError("Step Functions did not answer; try again shortly.") from error
