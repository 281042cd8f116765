"""Where a retrain run's export writes: objects under the training bucket (the `Outputs` port)."""

from __future__ import annotations

import tempfile
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from replyloop.domain.errors import NotFoundError, StorageError


def read_object(client: Any, bucket: str, location: str) -> bytes:
    """The object at `s3://<bucket>/<key>`; a location outside `bucket` is refused (NotFoundError)."""
    prefix = f"s3://{bucket}/"
    if not location.startswith(prefix):
        raise NotFoundError(f"{location!r} is not in the training bucket.")
    try:
        body: bytes = client.get_object(Bucket=bucket, Key=location[len(prefix) :])["Body"].read()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            raise NotFoundError(f"{location!r} no longer exists.") from error
        raise StorageError("The training bucket did not answer; try again shortly.") from error
    except BotoCoreError as error:
        raise StorageError("The training bucket did not answer; try again shortly.") from error
    return body


class S3Outputs:
    """Objects under `s3://bucket/prefix/`: each file spools to disk past 1 MiB, then boto3 streams it up."""

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix.rstrip("/")
        self._spools: dict[str, IO[bytes]] = {}

    def write(self, name: str, text: str) -> None:
        spool = self._spools.get(name)
        if spool is None:
            spool = self._spools[name] = tempfile.SpooledTemporaryFile(max_size=1 << 20)  # noqa: SIM115
        spool.write(text.encode("utf-8"))

    def finish(self) -> dict[str, str]:
        located = {}
        for name, spool in self._spools.items():
            spool.seek(0)
            key = f"{self.prefix}/{name}"
            self.client.upload_fileobj(spool, self.bucket, key)
            spool.close()
            located[name] = f"s3://{self.bucket}/{key}"
        return located
