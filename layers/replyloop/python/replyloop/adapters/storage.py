"""The one mapping of DynamoDB failures, for plain calls and transactions alike; every adapter calls through it.

- A condition that did not hold - `ConditionalCheckFailedException`, or a `TransactionCanceledException`
  whose reasons are failed conditions or a conflicting transaction - is the caller's business (a
  retried create, a run that moved on, a concurrent verdict): `ConditionFailed`, with each item's reason;
  `conflict_only` tells a pure `TransactionConflict` (safe to send again unchanged) from a failed condition.
- A query's `ExclusiveStartKey` the table refuses is the request's fault: `InvalidRequestError`.
- Anything else (throttling, a cancelled transaction for another reason, no connection) is not:
  `StorageError`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from replyloop.domain.errors import InvalidRequestError, StorageError

CONDITION_REASONS = {"ConditionalCheckFailed", "TransactionConflict"}


class ConditionFailed(Exception):
    """The write's condition did not hold (or a concurrent transaction won); nothing was written.

    `reasons` has one entry per item of a transaction (None for an item that was fine); a plain
    call's is `("ConditionalCheckFailed",)`.
    """

    def __init__(self, message: str, reasons: tuple[str | None, ...]) -> None:
        super().__init__(message)
        self.reasons = reasons

    @property
    def first_item_failed(self) -> bool:
        """The transaction's first item (by convention the one whose condition matters) failed its condition."""
        return bool(self.reasons) and self.reasons[0] == "ConditionalCheckFailed"

    @property
    def conflict_only(self) -> bool:
        """Every condition held; only concurrent transactions on the same items cancelled this one.

        DynamoDB cancels such a transaction whole (nothing was written) and botocore does not retry it, so
        the very same write may be sent again - the caller decides how often (`services.capture.RETRY`).
        """
        failed = [reason for reason in self.reasons if reason is not None]
        return bool(failed) and all(reason == "TransactionConflict" for reason in failed)


def _mapped(error: ClientError, paging: bool) -> Exception:
    code = error.response["Error"]["Code"]
    if code == "ConditionalCheckFailedException":
        return ConditionFailed(str(error), ("ConditionalCheckFailed",))
    if code == "TransactionCanceledException":
        reasons = tuple(
            None if reason.get("Code") in (None, "None") else str(reason["Code"])
            for reason in error.response.get("CancellationReasons") or []
        )
        if any(reason in CONDITION_REASONS for reason in reasons):
            return ConditionFailed(str(error), reasons)
    if code == "ValidationException" and paging:
        return InvalidRequestError("The cursor is not valid for this query; start again without it.")
    return StorageError("The data store could not answer")


@contextmanager
def store_errors(*, paging: bool = False) -> Iterator[None]:
    """Map what the block's DynamoDB calls raise (for calls that are not one function, e.g. a batch writer)."""
    try:
        yield
    except ClientError as error:
        raise _mapped(error, paging) from error
    except BotoCoreError as error:
        raise StorageError("The data store could not answer") from error


def store_call(operation: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Call one DynamoDB operation (resource or client, plain or transaction) with the mapping above."""
    with store_errors(paging="ExclusiveStartKey" in kwargs):
        return operation(**kwargs)
