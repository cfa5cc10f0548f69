"""The one Redis client Tailor uses, built from TAILOR["REDIS_URL"] (None: no Redis).

Redis is shared, fast and forgetful: a restart without persistence or a ``FLUSHDB`` empties it, and a
command that timed out on a frozen server may still run when it resumes. So Tailor keeps nothing
there whose loss would lose or double-count an event: counted events, their dedupe marks and the arm
stats live in the database (`variants.event_log`); Redis holds what may be rebuilt or forgotten
(rate limits, visitor profiles, learned policy state, caches).
"""

from __future__ import annotations

import threading

import redis

from tailor.settings import on_reload, tailor_settings

_client = None
_lock = threading.Lock()


def get_redis():
    """A shared redis-py client, or None when TAILOR["REDIS_URL"] is not set.

    Short timeouts and no retries: Redis sits on the request path, so a slow or missing server must
    degrade quickly rather than hold the request.
    """
    global _client
    url = tailor_settings.REDIS_URL
    if not url:
        return None
    if _client is None:
        with _lock:
            if _client is None:
                _client = redis.Redis.from_url(
                    url,
                    socket_connect_timeout=0.5,
                    socket_timeout=1.0,
                    retry_on_timeout=False,
                    health_check_interval=30,
                )
    return _client


def redis_key(*parts: str) -> str:
    return tailor_settings.REDIS_PREFIX + ":".join(parts)


@on_reload
def _drop_client() -> None:
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
