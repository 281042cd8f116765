"""Training reviews in the data table: which "not useful" verdicts' replies a reviewer let train.

A training example item (`INTERACTION#<id>` / `TRAINING_EXAMPLE`, written with the verdict) is listed
by review status through `gsi1` (`gsi1pk = TRAINING_EXAMPLE#<pending|approved|rejected>`): the verdict
write puts it `pending`, or `approved` when its author is a reviewer. A review writes
`INTERACTION#<id>` / `REVIEW` and moves the example to its status in one transaction, conditioned on
the verdict's revision, so a review never applies to a verdict that changed after the reviewer read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from replyloop.adapters.items import decode_cursor, encode_cursor
from replyloop.adapters.keys import INTERACTION_PREFIX, format_timestamp, interaction_pk, parse_timestamp
from replyloop.adapters.storage import ConditionFailed
from replyloop.adapters.table import DynamoTable
from replyloop.domain.entities import TrainingReview

EXAMPLES = "TRAINING_EXAMPLE"


def examples_partition(status: str) -> str:
    """`pending`, `approved` or `rejected`."""
    return f"{EXAMPLES}#{status}"


def review_from_item(item: Mapping[str, Any]) -> TrainingReview:
    return TrainingReview(
        interaction_id=str(item["interactionId"]),
        revision=int(item["revision"]),
        status=str(item["status"]),
        reviewed_by=str(item["reviewedBy"]),
        reviewed_at=parse_timestamp(str(item["reviewedAt"])),
        note=item.get("note"),
    )


class DynamoTrainingReviews(DynamoTable):
    def list_examples(
        self, status: str, topic: str | None, limit: int, cursor: str | None
    ) -> tuple[list[str], str | None]:
        """Interaction ids of the training examples with this review status, newest first (one page)."""
        partition = examples_partition(status)
        kwargs: dict[str, Any] = {
            "IndexName": "gsi1",
            "KeyConditionExpression": Key("gsi1pk").eq(partition),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if topic:
            kwargs["FilterExpression"] = Attr("topic").eq(topic)
        if cursor:
            kwargs["ExclusiveStartKey"] = decode_cursor(cursor, {"gsi1pk": partition})
        response = self._call(self._table.query, **kwargs)
        last = response.get("LastEvaluatedKey")
        ids = [str(item["interactionId"]) for item in response.get("Items", [])]
        return ids, (encode_cursor(last) if last else None)

    def save_review(self, review: TrainingReview) -> bool:
        """The review and the example's new status, only while the verdict is still `review.revision`."""
        pk = interaction_pk(review.interaction_id)
        item = {
            "pk": pk,
            "sk": "REVIEW",
            "interactionId": review.interaction_id,
            "status": review.status,
            "revision": review.revision,
            "reviewedBy": review.reviewed_by,
            "reviewedAt": format_timestamp(review.reviewed_at),
        }
        if review.note:
            item["note"] = review.note
        self._expire([item], review.reviewed_at, prefixes=(INTERACTION_PREFIX,))
        try:
            self._transact(
                [
                    {
                        "ConditionCheck": {
                            "TableName": self.table_name,
                            "Key": {"pk": pk, "sk": "FEEDBACK"},
                            "ConditionExpression": "revision = :revision",
                            "ExpressionAttributeValues": {":revision": review.revision},
                        }
                    },
                    {"Put": {"TableName": self.table_name, "Item": item}},
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {"pk": pk, "sk": EXAMPLES},
                            "UpdateExpression": "SET gsi1pk = :status",
                            "ConditionExpression": "attribute_exists(pk)",
                            "ExpressionAttributeValues": {":status": examples_partition(review.status)},
                        }
                    },
                ]
            )
        except ConditionFailed:
            return False
        return True
