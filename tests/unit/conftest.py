"""Unit tests start with no per-process cache filled by another test (`caches.clear_all`), as the
integration fixtures do: e.g. the versions a stress test resolved with one fake registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from replyloop.caches import clear_all


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    clear_all()
    yield
    clear_all()
