"""AWS's DynamoDB Local as the local stack runs it: started, used, stopped, and the fallback without it.

These tests run the real jar from the pinned npm package (`make dynamodb-local`) on Java 17+.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

from replyloop.local import dynamodb_local
from replyloop.local.dynamodb_local import DynamoDBLocal, DynamoDBLocalUnavailable
from replyloop.local.gateway import FunctionRunner
from replyloop.local.provision import FunctionSpec, provision
from tests.conftest import TEMPLATE

# Java 17 is on the development machines and in CI; elsewhere only the fallback tests can run.
needs_java = pytest.mark.skipif(shutil.which("java") is None, reason="needs Java 17+ on PATH")


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def client(endpoint: str):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


@pytest.fixture(scope="module")
def server():
    if shutil.which("java") is None:
        pytest.skip("needs Java 17+ on PATH")
    server = DynamoDBLocal.installed()
    server.start()
    yield server
    server.stop()


@needs_java
def test_it_starts_answers_and_leaves_no_process_after_stop():
    server = DynamoDBLocal.installed()
    server.start()
    pid = server.pid
    assert pid is not None and server.version == "3.3.1"
    assert client(server.endpoint).list_tables()["TableNames"] == []
    assert "in memory" in server.describe()
    server.stop()
    assert gone(pid)


@needs_java
def test_its_watchdog_ends_it_when_the_parent_dies(tmp_path: Path):
    # A parent that starts DynamoDB Local, prints the JVM's pid and is then killed without cleanup.
    script = (
        "import os, sys; from replyloop.local.dynamodb_local import DynamoDBLocal\n"
        "s = DynamoDBLocal.installed(); s.start(); print(s.pid, flush=True); sys.stdin.read()\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    assert gone(pid)


@needs_java
def test_a_data_dir_keeps_the_tables_across_restarts(tmp_path: Path):
    for round_ in (1, 2):
        server = DynamoDBLocal.installed(data_dir=tmp_path)
        server.start()
        dynamodb = client(server.endpoint)
        if round_ == 1:
            dynamodb.create_table(
                TableName="kept",
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
            dynamodb.put_item(TableName="kept", Item={"id": {"S": "a"}})
        else:
            assert dynamodb.get_item(TableName="kept", Key={"id": {"S": "a"}})["Item"] == {"id": {"S": "a"}}
        server.stop()


def test_without_java_or_the_jar_it_says_what_is_missing(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(dynamodb_local.shutil, "which", lambda name: None)
    with pytest.raises(DynamoDBLocalUnavailable, match="needs Java 17"):
        DynamoDBLocal.installed()
    monkeypatch.undo()
    monkeypatch.setenv(dynamodb_local.JAR_VARIABLE, str(tmp_path / "missing.jar"))
    with pytest.raises(DynamoDBLocalUnavailable, match="not a file"):
        DynamoDBLocal.installed()


def test_without_java_the_stack_falls_back_to_motos_dynamodb(monkeypatch, tmp_path: Path, replyloop_home):
    from replyloop.local.stack import DYNAMODB_ENDPOINT_VARIABLE, LocalStack

    monkeypatch.setattr(dynamodb_local.shutil, "which", lambda name: None)
    for name in ("AWS_ENDPOINT_URL", DYNAMODB_ENDPOINT_VARIABLE, "MOTO_PORT", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    logged: list[str] = []
    stack = LocalStack(template=TEMPLATE, port=0, home=replyloop_home, log=logged.append)
    try:
        stack._start_dynamodb_local()
    finally:
        stack._cleanup.close()
    assert stack.dynamodb_local is None
    assert DYNAMODB_ENDPOINT_VARIABLE not in os.environ
    assert any("WARNING" in line and "needs Java 17" in line for line in logged)
    assert "moto's DynamoDB" in stack.dynamodb_description
    # Keeping data was asked for and cannot be honoured: that is an error, not a warning.
    with pytest.raises(DynamoDBLocalUnavailable, match="--data needs DynamoDB Local"):
        LocalStack(template=TEMPLATE, home=replyloop_home, data_dir=tmp_path, log=logged.append)._start_dynamodb_local()


@needs_java
def test_the_templates_tables_are_created_in_dynamodb_local(server, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", server.endpoint)
    with mock_aws():  # moto for the queues and buckets; the variable sends DynamoDB to the server
        provisioned = provision(TEMPLATE, boto3.Session(region_name="us-east-1"), stack_name="ddb-local-test")
    tables = client(server.endpoint).list_tables()["TableNames"]
    assert set(provisioned.tables.values()) <= set(tables)
    data = client(server.endpoint).describe_table(TableName=provisioned.tables["DataTable"])["Table"]
    assert {index["IndexName"] for index in data["GlobalSecondaryIndexes"]} >= {"gsi1", "gsi2"}
    # A second run (a restart on --data) reuses the tables.
    with mock_aws():
        again = provision(TEMPLATE, boto3.Session(region_name="us-east-1"), stack_name="ddb-local-test")
    assert again.tables == provisioned.tables


@needs_java
def test_transactions_cancel_on_a_failed_condition_as_dynamodb_does(server):
    dynamodb = client(server.endpoint)
    dynamodb.create_table(
        TableName="txn",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    put = {"Put": {"TableName": "txn", "Item": {"id": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(id)"}}
    add = {
        "Update": {
            "TableName": "txn",
            "Key": {"id": {"S": "count"}},
            "UpdateExpression": "ADD n :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    dynamodb.transact_write_items(TransactItems=[put, add])
    with pytest.raises(dynamodb.exceptions.TransactionCanceledException) as cancelled:
        dynamodb.transact_write_items(TransactItems=[put, add])
    reasons = [r["Code"] for r in cancelled.value.response["CancellationReasons"]]
    assert reasons == ["ConditionalCheckFailed", "None"]
    assert dynamodb.get_item(TableName="txn", Key={"id": {"S": "count"}})["Item"]["n"] == {"N": "1"}


def test_a_function_serves_concurrent_events_up_to_its_concurrency(tmp_path: Path):
    (tmp_path / "app.py").write_text(
        "import threading, time\n"
        "busy = []\n"
        "def lambda_handler(event, context):\n"
        "    busy.append(1); time.sleep(0.3); n = len(busy); busy.pop(); return n\n"
    )
    spec = FunctionSpec("Slow", tmp_path, "app.lambda_handler", {}, timeout=10, concurrency=3)
    runner = FunctionRunner({"Slow": spec})
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(runner.invoke("Slow", {}))) for _ in range(6)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert runner.instances("Slow") == 3  # each an execution environment of its own
    assert max(results) == 1  # no instance ever held two events at once
    assert elapsed >= 0.55  # six 0.3 s events, at most three at a time: at least two rounds
    assert runner.invoke("Slow", {}) == 1
