"""A Powertools tracing provider that loads the X-Ray SDK when a trace needs it, not at import.

Powertools' `Tracer()` imports `aws_xray_sdk.core` (0.2-0.3 s) as its default provider, even where tracing
is disabled. This provider keeps every subsegment Powertools makes (`capture_lambda_handler`,
`capture_method`, annotations, metadata, and the patched boto3/botocore/httpx calls): the first traced
invocation loads the recorder, applies the patches asked for at construction, and sets the same
`streaming_threshold=0` Powertools sets on its own X-Ray provider. Patching is class-level in
botocore, so clients built before that still trace. Where tracing is disabled (outside Lambda, or
`POWERTOOLS_TRACE_DISABLED`), the SDK is never imported: subsegments are no-ops.

Under SnapStart `snapstart.py` calls `load()` before the snapshot, so a restored environment starts
with the SDK already in memory.
"""

from __future__ import annotations

import numbers
import threading
import traceback
from collections.abc import AsyncGenerator, Generator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any

from aws_lambda_powertools.tracing.base import BaseProvider, BaseSegment


class NoOpSegment(BaseSegment):
    """What a subsegment is where tracing is disabled."""

    def close(self, end_time: int | None = None) -> None:
        return None

    def add_subsegment(self, subsegment: Any) -> None:
        return None

    def remove_subsegment(self, subsegment: Any) -> None:
        return None

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        return None

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        return None

    def add_exception(
        self, exception: BaseException, stack: list[traceback.StackSummary], remote: bool = False
    ) -> None:
        return None


def tracing_enabled() -> bool:
    """The X-Ray SDK's own switch, which Powertools turns off when it disables tracing (a light import)."""
    import aws_xray_sdk

    return bool(aws_xray_sdk.global_sdk_config.sdk_enabled())


class LazyXRayProvider(BaseProvider):
    def __init__(self) -> None:
        self._recorder: Any = None
        self._patch_all = False
        self._patch_modules: list[str] = []
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._recorder is not None

    def load(self) -> Any:
        """The X-Ray recorder, imported, configured and patched on first call."""
        if self._recorder is None:
            with self._lock:
                if self._recorder is None:
                    import aws_xray_sdk.core

                    recorder = aws_xray_sdk.core.xray_recorder
                    # As Powertools does for its X-Ray provider: send subsegments one by one (its issue #283).
                    recorder.configure(streaming_threshold=0)
                    if self._patch_all:
                        aws_xray_sdk.core.patch_all()
                    elif self._patch_modules:
                        aws_xray_sdk.core.patch(self._patch_modules)
                    self._recorder = recorder
        return self._recorder

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Generator[BaseSegment, None, None]:
        if not tracing_enabled():
            yield NoOpSegment()
            return
        with self.load().in_subsegment(name=name, **kwargs) as subsegment:
            yield subsegment

    @asynccontextmanager
    async def in_subsegment_async(self, name: str | None = None, **kwargs: Any) -> AsyncGenerator[BaseSegment, None]:
        if not tracing_enabled():
            yield NoOpSegment()
            return
        async with self.load().in_subsegment_async(name=name, **kwargs) as subsegment:
            yield subsegment

    def put_annotation(self, key: str, value: str | numbers.Number | bool) -> None:
        if tracing_enabled():
            self.load().put_annotation(key=key, value=value)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        if tracing_enabled():
            self.load().put_metadata(key=key, value=value, namespace=namespace)

    def patch(self, modules: Sequence[str]) -> None:
        self._patch_modules = [*self._patch_modules, *modules]
        if self.loaded:
            import aws_xray_sdk.core

            aws_xray_sdk.core.patch(list(modules))

    def patch_all(self) -> None:
        self._patch_all = True
        if self.loaded:
            import aws_xray_sdk.core

            aws_xray_sdk.core.patch_all()
