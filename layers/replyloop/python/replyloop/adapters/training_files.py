"""Where a retrain run's export writes: objects under the training bucket (the `Outputs` port)."""

from __future__ import annotations

import tempfile
from typing import IO, Any


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
