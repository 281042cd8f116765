"""The local stand-in applies each DynamoDB request atomically, as DynamoDB does, under concurrent writers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import boto3
from moto import mock_aws

from replyloop.local.moto_fidelity import serialise_dynamodb

WRITERS, ROUNDS = 8, 25


def test_concurrent_transactions_neither_fail_nor_lose_writes():
    serialise_dynamodb()  # already applied by tests/conftest.py; applying twice must be harmless
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )

        def write(writer: int) -> None:
            for n in range(ROUNDS):
                client.transact_write_items(
                    TransactItems=[
                        {"Put": {"TableName": "t", "Item": {"pk": {"S": f"item#{writer}#{n}"}}}},
                        {
                            "Update": {
                                "TableName": "t",
                                "Key": {"pk": {"S": "counter"}},
                                "UpdateExpression": "ADD n :one",
                                "ExpressionAttributeValues": {":one": {"N": "1"}},
                            }
                        },
                    ]
                )

        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(write, range(WRITERS)))  # re-raises any writer's error

        counter = client.get_item(TableName="t", Key={"pk": {"S": "counter"}})["Item"]["n"]["N"]
        assert int(counter) == WRITERS * ROUNDS
        assert client.scan(TableName="t", Select="COUNT")["Count"] == WRITERS * ROUNDS + 1
