"""Small TTL caches for provider answers: in-process (bounded LRU), Redis, and the two stacked.

Values are JSON-safe (dicts, lists, str, numbers, None): Redis stores them as JSON, never pickle.
`None` is a value like any other (providers use it to remember a failure briefly); a miss is
`MISSING`. A cache never raises because its backend is down: it degrades to a miss.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Protocol

from .resilience import CircuitBreaker

try:
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - Redis is optional; RedisCache then only sees OSErrors
    RedisError = OSError  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class Cache(Protocol):
    def get(self, key: str) -> Any:
        """The value stored under `key`, or MISSING."""

    def set(self, key: str, value: Any, ttl: float) -> None:
        """Store `value` for `ttl` seconds; a ttl <= 0 stores nothing."""


class MemoryCache:
    """A thread-safe, in-process TTL cache holding at most `maxsize` entries (least recently used go)."""

    def __init__(self, maxsize: int = 4096, *, clock: Callable[[], float] = time.monotonic):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    def get(self, key: str) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return MISSING
            expires_at, value = entry
            if self.clock() >= expires_at:
                del self._entries[key]
                return MISSING
            self._entries.move_to_end(key)
            return value

    def set(self, key: str, value: Any, ttl: float) -> None:
        with self._lock:
            if ttl <= 0:
                self._entries.pop(key, None)
                return
            self._entries[key] = (self.clock() + ttl, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class RedisCache:
    """JSON values in Redis under `prefix + key`, written with ``SET key value EX ttl``.

    Pass a client built with short ``socket_timeout`` / ``socket_connect_timeout`` and few or no
    retries (redis-py retries with backoff by default, seconds when Redis is down): a cache lookup
    must not cost more than the call it saves. After an error the cache stays off for
    `retry_after` seconds (a breaker) so a Redis outage costs one timeout, not one per request.
    """

    def __init__(
        self,
        client: Any,
        prefix: str = "tailor:",
        *,
        retry_after: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.client = client
        self.prefix = prefix
        self.breaker = CircuitBreaker(1, retry_after, clock=clock, name=f"redis cache {prefix!r}")

    def get(self, key: str) -> Any:
        if not self.breaker.allow():
            return MISSING
        try:
            raw = self.client.get(self.prefix + key)
        except (RedisError, OSError) as exc:
            self._failed("read", exc)
            return MISSING
        self.breaker.record_success()
        if raw is None:
            return MISSING
        try:
            return json.loads(raw)
        except ValueError:  # not ours, or written by an incompatible version: a miss
            return MISSING

    def set(self, key: str, value: Any, ttl: float) -> None:
        if ttl <= 0 or not self.breaker.allow():
            return
        data = json.dumps(value, separators=(",", ":"))
        try:
            self.client.set(self.prefix + key, data, ex=max(1, math.ceil(ttl)))
        except (RedisError, OSError) as exc:
            self._failed("write", exc)
            return
        self.breaker.record_success()

    def _failed(self, what: str, exc: BaseException) -> None:
        logger.warning("Redis cache %s failed under %r: %s", what, self.prefix, type(exc).__name__)
        self.breaker.record_failure()


class TieredCache:
    """A near (in-process) cache in front of a far (shared) one.

    Reads try near first, then far; a far hit is copied near for at most `near_ttl` seconds (the far
    entry's remaining lifetime is unknown, so a copy may outlive it by that much). Writes go to both.
    """

    def __init__(self, near: Cache, far: Cache, *, near_ttl: float = 60.0):
        self.near = near
        self.far = far
        self.near_ttl = near_ttl

    def get(self, key: str) -> Any:
        value = self.near.get(key)
        if value is not MISSING:
            return value
        value = self.far.get(key)
        if value is not MISSING:
            self.near.set(key, value, self.near_ttl)
        return value

    def set(self, key: str, value: Any, ttl: float) -> None:
        self.near.set(key, value, ttl)
        self.far.set(key, value, ttl)
