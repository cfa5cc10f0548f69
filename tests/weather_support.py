"""Helpers the weather tests share: a LocMemCache of their own, a frozen clock, a thread counter."""

from __future__ import annotations

import threading
import uuid

from django.core.cache.backends.locmem import LocMemCache

from rules.providers.upstream import UpstreamError


class FrozenClock:
    """Wall clock and monotonic time, frozen (freezegun) for Django's cache expiry and pybreaker's cool-down."""

    def __init__(self, frozen):
        self.frozen = frozen

    def advance(self, seconds: float) -> None:
        self.frozen.tick(seconds)


def locmem_cache() -> LocMemCache:
    """A Django LocMemCache of its own (LocMemCache shares its storage by name)."""
    return LocMemCache(f"weather-test-{uuid.uuid4().hex}", {"OPTIONS": {"MAX_ENTRIES": 1000}})


def count_threads_started(monkeypatch) -> list[threading.Thread]:
    """Threads the calling thread starts from now on (the fake server's own threads are not counted)."""
    caller, started = threading.current_thread(), []
    real_start = threading.Thread.start

    def start(self, *args, **kwargs):
        if threading.current_thread() is caller:
            started.append(self)
        return real_start(self, *args, **kwargs)

    monkeypatch.setattr(threading.Thread, "start", start)
    return started


def fail():
    raise UpstreamError("down")


def ok():
    return "answer"
