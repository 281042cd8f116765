"""One mapping of DynamoDB failures for the run logs (retrain runs, stress tests).

A failed condition is the caller's business (a retried create, a run that moved on, a missing run),
so it comes back as `ConditionFailed`; anything else is not the request's fault: `StorageError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from replyloop.domain.errors import StorageError


class ConditionFailed(Exception):
    """The write's ConditionExpression did not hold; nothing was written."""


def store_call(operation: Callable[..., Any], /, **kwargs: Any) -> Any:
    try:
        return operation(**kwargs)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            raise ConditionFailed(str(error)) from error
        raise StorageError("The data store could not answer") from error
    except BotoCoreError as error:
        raise StorageError("The data store could not answer") from error
