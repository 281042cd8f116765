"""State machines from the template run in moto with their Lambda tasks in-process."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from replyloop.local.gateway import FunctionRunner
from replyloop.local.provision import provision
from replyloop.local.stack import MOTO_CONFIG
from replyloop.local.statemachines import lambda_seam

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "statemachine" / "template.yaml"


@pytest.fixture
def flow():
    with mock_aws(config=MOTO_CONFIG):
        session = boto3.Session(region_name="us-east-1")
        provisioned = provision(FIXTURE, session)
        runner = FunctionRunner(provisioned.functions)
        with lambda_seam(provisioned.lambda_names, runner.invoke):
            yield provisioned, session, runner


def wait_for(sfn, execution_arn: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = sfn.describe_execution(executionArn=execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)
    raise AssertionError("the execution did not finish")


def test_the_state_machine_and_its_schedule_come_from_the_template(flow):
    provisioned, session, _ = flow
    machine = provisioned.state_machines["Flow"]
    assert machine["schedules"] == ["rate(7 days)"]
    definition = session.client("stepfunctions").describe_state_machine(stateMachineArn=machine["arn"])["definition"]
    assert "${StepFunctionArn}" not in definition
    assert "function:replyloop-local-StepFunction" in definition
    rules = session.client("events").list_rules()["Rules"]
    assert [r["ScheduleExpression"] for r in rules] == ["rate(7 days)"]


def test_tasks_run_our_handler_with_retry_and_catch(flow):
    provisioned, session, _ = flow
    sfn = session.client("stepfunctions")
    items = [{"name": "plain", "value": 2}, {"name": "flaky", "value": 5}, {"name": "broken", "value": 1}]
    execution = sfn.start_execution(
        stateMachineArn=provisioned.state_machines["Flow"]["arn"], input=json.dumps({"items": items})
    )
    result = wait_for(sfn, execution["executionArn"])
    assert result["status"] == "SUCCEEDED", result
    output = json.loads(result["output"])
    assert output[0] == {"name": "plain", "value": 4}
    assert output[1] == {"name": "flaky", "value": 10}  # succeeded on the third attempt
    assert output[2] == "failed"  # PermanentError was caught by its exception class name
    app = provisioned.functions["StepFunction"].entry_point().__globals__
    assert app["attempts"]["flaky"] == 3
