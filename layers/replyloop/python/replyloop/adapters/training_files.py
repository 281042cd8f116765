"""A retrain run's export in the training bucket: where it writes (the `Outputs` port) and how an erasure rewrites it
(the `ExportFiles` port)."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError

from replyloop.domain.erasure import Erased
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


class S3ExportFiles:
    """Every run's export under `s3://bucket/retrain/` (the `ExportFiles` port): erasure rewrites objects.

    A run's `manifest.json` lists, per file, the interaction id of each line (`provenance`), so the lines of
    given interactions are found without reading any training file that holds none. A rewritten object's
    earlier versions (the bucket is versioned) are deleted too, or the erased lines would outlive the erasure.
    """

    def __init__(self, client: Any, bucket: str, prefix: str = "retrain/") -> None:
        self.client, self.bucket, self.prefix = client, bucket, prefix

    def erase_lines(self, interaction_ids: Collection[str]) -> Erased:
        erased = set(interaction_ids)
        rewritten = 0
        if not erased:
            return Erased()
        for manifest_key in self._manifests():
            manifest = json.loads(self._get(manifest_key))
            provenance: dict[str, list[str]] = manifest.get("provenance") or {}
            folder = manifest_key.rsplit("/", 1)[0]
            changed = False
            for name, ids in provenance.items():
                drop = {number for number, interaction_id in enumerate(ids) if interaction_id in erased}
                if not drop:
                    continue
                self._rewrite(f"{folder}/{name}", drop)
                provenance[name] = [interaction_id for interaction_id in ids if interaction_id not in erased]
                manifest["erasedLines"] = int(manifest.get("erasedLines", 0)) + len(drop)
                rewritten, changed = rewritten + 1, True
            held_out = manifest.get("heldOut") or {}
            cases = held_out.get("cases") or []
            kept = [case for case in cases if case.get("interactionId") not in erased]
            if len(kept) != len(cases):
                held_out["cases"], changed = kept, True
            if changed:
                self._replace(manifest_key, json.dumps(manifest, indent=2).encode("utf-8"))
                rewritten += 1
                # The gepa trainer's checkpoint holds candidate prompts, which may quote the erased lines:
                # gone, every version (a run still training then starts its search again without them).
                rewritten += self._delete_all(f"{folder}/gepa/")
        return Erased(export_objects=rewritten)

    def _delete_all(self, prefix: str) -> int:
        """Every version of every object under `prefix` deleted; how many objects there were."""
        keys: set[str] = set()
        with _bucket_errors():
            for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=prefix):
                for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    keys.add(version["Key"])
                    self.client.delete_object(Bucket=self.bucket, Key=version["Key"], VersionId=version["VersionId"])
        return len(keys)

    def _manifests(self) -> Iterator[str]:
        with _bucket_errors():
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix):
                for entry in page.get("Contents", []):
                    if entry["Key"].endswith("/manifest.json"):
                        yield entry["Key"]

    def _get(self, key: str) -> bytes:
        return read_object(self.client, self.bucket, f"s3://{self.bucket}/{key}")

    def _rewrite(self, key: str, drop: set[int]) -> None:
        """The object without the lines numbered in `drop` (0-based), streamed through a spool file."""
        with _bucket_errors(), tempfile.SpooledTemporaryFile(max_size=1 << 20) as spool:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            for number, line in enumerate(body.iter_lines(keepends=True)):
                if number not in drop:
                    spool.write(line)
            spool.seek(0)
            self._replace(key, spool)

    def _replace(self, key: str, content: bytes | IO[bytes]) -> None:
        with _bucket_errors():
            written = self.client.put_object(Bucket=self.bucket, Key=key, Body=content)
            current = written.get("VersionId")
            if not current or current == "null":
                return  # an unversioned bucket keeps no earlier version
            for page in self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=key):
                for version in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    if version["Key"] == key and version["VersionId"] != current:
                        self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=version["VersionId"])


@contextmanager
def _bucket_errors() -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise StorageError("The training bucket did not answer; try again shortly.") from error
