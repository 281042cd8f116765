"""Where a stack's queues and table are: the running local stack, or a deployed stack's outputs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import boto3

from replyloop.local.stack import STATE_FILE
from replyloop.local.tokens import replyloop_home
from replyloop.operations.dlq import QueuePair

QUEUES = ("explain", "correct")
LOGICAL = {"explain": ("ExplainQueue", "ExplainDLQ"), "correct": ("CorrectQueue", "CorrectDLQ")}
OUTPUTS = {"explain": ("ExplainQueueUrl", "ExplainDLQUrl"), "correct": ("CorrectQueueUrl", "CorrectDLQUrl")}


class StackNotFoundError(Exception):
    pass


@dataclass
class StackConnection:
    session: Any
    endpoint_url: str | None
    queue_urls: dict[str, tuple[str, str]]  # explain|correct -> (source url, dlq url)
    table_name: str | None
    description: str
    # The local stack's tables live in DynamoDB Local, beside moto's endpoint for everything else.
    dynamodb_endpoint_url: str | None = None

    def client(self, service: str) -> Any:
        if service == "dynamodb" and self.dynamodb_endpoint_url:
            return self.session.client(service, endpoint_url=self.dynamodb_endpoint_url)
        return self.session.client(service, endpoint_url=self.endpoint_url)

    def pair(self, name: str) -> QueuePair:
        sqs = self.client("sqs")
        source, dlq = self.queue_urls[name]

        def arn(url: str) -> str:
            return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

        return QueuePair(name, source, arn(source), dlq, arn(dlq))

    def last_error(self, message_id: str) -> str | None:
        if not self.table_name:
            return None
        item = (
            self.client("dynamodb")
            .get_item(TableName=self.table_name, Key={"pk": {"S": f"JOBFAILURE#{message_id}"}, "sk": {"S": "LAST"}})
            .get("Item")
        )
        return item["error"]["S"] if item else None


def connect(stack_name: str | None) -> StackConnection:
    if stack_name:
        session = boto3.Session()
        try:
            stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        except Exception as error:
            raise StackNotFoundError(f"Cannot read stack {stack_name!r}: {error}") from error
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        missing = [key for pair in OUTPUTS.values() for key in pair if key not in outputs]
        if missing:
            raise StackNotFoundError(f"Stack {stack_name!r} has no outputs {missing}; is it a replyloop stack?")
        return StackConnection(
            session,
            None,
            {name: (outputs[a], outputs[b]) for name, (a, b) in OUTPUTS.items()},
            outputs.get("TableName"),
            f"stack {stack_name} ({session.region_name})",
        )
    path = replyloop_home() / STATE_FILE
    if not path.exists():
        raise StackNotFoundError(
            "No local stack is running (no "
            f"{path}). Start one with `replyloop dev start`, or pass --stack NAME for a deployed stack."
        )
    state = json.loads(path.read_text(encoding="utf-8"))
    session = boto3.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=state["region"])
    queues = state["queues"]
    return StackConnection(
        session,
        state["awsEndpoint"],
        {name: (queues[a], queues[b]) for name, (a, b) in LOGICAL.items()},
        state["tables"].get("DataTable"),
        f"the local stack at {state['url']}",
        state.get("dynamodbEndpoint"),
    )
