"""Domain exceptions; the API maps each to a status code and a message a person understands."""


class ReplyloopError(Exception):
    """Base class of every error the product raises on purpose."""


class NotFoundError(ReplyloopError):
    """The thing asked for does not exist."""


class InvalidRequestError(ReplyloopError):
    """The request is well-formed but its values cannot be used (bad cursor, reversed range)."""


class ForbiddenError(ReplyloopError):
    """The caller's role does not allow this."""


class ConflictError(ReplyloopError):
    """A concurrent change won; the caller may retry."""


class StorageError(ReplyloopError):
    """The store failed for a reason that is not the request's fault."""


class LlmUnavailableError(ReplyloopError):
    """The model could not answer (after the SDK's retries); not the request's fault."""


class BusyError(StorageError):
    """Concurrent writes kept cancelling this one (after retries); nothing was written, try again shortly."""

    def __init__(self, message: str, retry_after_seconds: int = 1) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class LlmRefusedError(LlmUnavailableError):
    """The model refused or could not finish this request: sending the same one again fails the same way."""
