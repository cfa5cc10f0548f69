"""Rate limits per visitor and per client address (``TAILOR["RATE_LIMITS"]``), through the `limits`
library: a sliding-window counter kept in Redis when ``TAILOR["REDIS_URL"]`` is set (shared by every
process, keys under ``REDIS_PREFIX + "ratelimit"``, expiring with their window), else in this process's
memory (the embedded default, right for one process).

Compared with django-ratelimit (its last release 2023; the Django cache as storage, a per-site
``RATELIMIT_*`` setting namespace and a view decorator, while most of our limits apply inside one
GraphQL request): `limits` is maintained, takes its storage from the Redis URL Tailor already has,
counts a batch as one hit of cost n, and tells when the window resets (``Retry-After``).

Who is limited: the visitor (their id, from the visitor or decision token) and the client address
(``REMOTE_ADDR``; for a frontend's server calling on its visitors' behalf that is the server, hence the
high defaults). Neither is stored as such: the counters are keyed by a keyed hash (the site's
SECRET_KEY) of it. A storage that fails lets the request through (logged): a rate limit must not take
the site down with Redis.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import threading
import time
from dataclasses import dataclass

from django.conf import settings as django_settings
from django.utils.translation import gettext as _
from limits import parse, storage, strategies

from tailor.settings import on_reload, tailor_settings

logger = logging.getLogger("tailor.ratelimit")

_limiter: strategies.RateLimiter | None = None
_lock = threading.Lock()


@dataclass(frozen=True)
class Limited:
    """A refused request: which setting refused it, and when to retry."""

    setting: str
    rate: str
    retry_after: int

    @property
    def message(self) -> str:
        return _("rate limit reached: %(rate)s (RATE_LIMITS.%(setting)s); retry in %(seconds)d s") % {
            "rate": self.rate,
            "setting": self.setting,
            "seconds": self.retry_after,
        }

    @property
    def extensions(self) -> dict:
        return {"code": "RATE_LIMITED", "limit": f"RATE_LIMITS.{self.setting}", "retryAfter": self.retry_after}


def limiter() -> strategies.RateLimiter:
    global _limiter
    if _limiter is None:
        with _lock:
            if _limiter is None:
                url = tailor_settings.REDIS_URL
                if url:
                    backend = storage.storage_from_string(
                        url,
                        key_prefix=f"{tailor_settings.REDIS_PREFIX}ratelimit",
                        socket_connect_timeout=0.25,
                        socket_timeout=0.25,
                    )
                else:
                    backend = storage.MemoryStorage()
                _limiter = strategies.SlidingWindowCounterRateLimiter(backend)
    return _limiter


@on_reload
def _drop_limiter() -> None:
    global _limiter
    with _lock:
        _limiter = None


def _anonymous(value: str) -> str:
    """A keyed hash of a visitor id or an address: counters never hold the thing itself."""
    key = str(getattr(django_settings, "SECRET_KEY", "")).encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:24]


def client_address(request) -> str | None:
    meta = getattr(request, "META", None) or {}
    return meta.get("REMOTE_ADDR") or None


def hit(
    kind: str, *, visitors: dict[str, int] | None = None, address: str | None = None, cost: int = 1
) -> Limited | None:
    """Count `cost` actions of `kind` ("EVENTS" or "CONSENT") against the client address and `cost`
    per visitor in `visitors` ({visitor id: actions}); the first limit reached, or None."""
    rates = tailor_settings.RATE_LIMITS
    checks = [(f"{kind}_PER_ADDRESS", address, cost)]
    checks += [(f"{kind}_PER_VISITOR", visitor, n) for visitor, n in (visitors or {}).items()]
    for setting, who, n in checks:
        rate = rates.get(setting)
        if rate is None or not who or n < 1:
            continue
        item = parse(rate)
        identity = (kind.lower(), setting.rsplit("_", 1)[-1].lower(), _anonymous(who))
        try:
            allowed = limiter().hit(item, *identity, cost=n)
            if allowed:
                continue
            reset = limiter().get_window_stats(item, *identity).reset_time
        except Exception as exc:  # noqa: BLE001 - Redis down or slow: let the request through
            logger.warning("rate limit storage unavailable (%s); %s not limited", type(exc).__name__, setting)
            continue
        return Limited(setting, rate, max(1, math.ceil(reset - time.time())))
    return None
