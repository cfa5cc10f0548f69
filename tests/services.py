"""Access to the real services some tests need (PostgreSQL, Redis, Chromium).

Without `CI=true` a missing service skips the test with a message that says how to enable it; in
CI (`CI=true`) it fails, so a broken CI machine can never pass by skipping.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() == "true"
CHROMIUM = os.environ.get("TAILOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def unavailable(what: str, why: str, how: str) -> None:
    message = f"{what} is not available ({why}). {how}"
    if IN_CI:
        pytest.fail(f"CI=true requires it: {message}", pytrace=False)
    pytest.skip(message)


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


def require_redis():
    """A connected redis-py client for REDIS_URL, or skip/fail."""
    import redis

    url = redis_url()
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=5)
        client.ping()
    except Exception as e:  # noqa: BLE001 - any failure means "not reachable"
        unavailable(f"Redis at {url}", str(e), "Start redis-server or set REDIS_URL (e.g. redis://127.0.0.1:6379/0).")
    return client


def require_chromium() -> str:
    if not (os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)) and not shutil.which(CHROMIUM):
        unavailable(f"Chromium at {CHROMIUM}", "not installed", "Install it with `apt-get install chromium`.")
    return CHROMIUM


class CountingClient:
    """Wraps a redis-py client and counts round trips (direct commands and pipeline executions)."""

    def __init__(self, client):
        self.client = client
        self.round_trips = 0

    def pipeline(self, *args, **kwargs):
        pipe = self.client.pipeline(*args, **kwargs)
        execute = pipe.execute

        def counted(*a, **kw):
            self.round_trips += 1
            return execute(*a, **kw)

        pipe.execute = counted
        return pipe

    def __getattr__(self, name):
        attr = getattr(self.client, name)
        if not callable(attr):
            return attr

        def counted(*a, **kw):
            self.round_trips += 1
            return attr(*a, **kw)

        return counted
