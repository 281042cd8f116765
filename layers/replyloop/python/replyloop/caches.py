"""Every per-process cache of the product in one registry (what a Lambda container keeps between events).

A factory decorated with `cached` is built on first use and recorded here; `clear_all()` walks the
record, so no cache can be forgotten. Tests, the benchmarks and anything that points the same process
at a new AWS endpoint call `clear_all()` so nothing built against the old one survives.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol, TypeVar

Factory = TypeVar("Factory", bound=Callable[..., Any])


class Clearable(Protocol):
    def cache_clear(self) -> None: ...


_REGISTRY: list[Clearable] = []


def register(cache: Clearable) -> None:
    """Record a cache that is not a `cached` factory (e.g. the settings read per model)."""
    _REGISTRY.append(cache)


def cached(factory: Factory) -> Factory:
    """Build once per process (per Lambda container), and let `clear_all()` forget it."""
    wrapped = lru_cache(maxsize=1)(factory)
    register(wrapped)
    return wrapped  # type: ignore[return-value]  # lru_cache keeps the signature


def clear_all() -> None:
    for cache in _REGISTRY:
        cache.cache_clear()
