"""The one `TAILOR = {...}` settings dict, read with defaults.

    from tailor.settings import tailor_settings
    tailor_settings.STATS_REFRESH_SECONDS

Unknown keys are refused with the list of valid ones (a typo must not silently do nothing), and the
accessor reloads when tests change settings (`setting_changed`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

DEFAULTS: dict[str, Any] = {
    # Shared state. None: the database (the embedded default, fine for one process).
    "REDIS_URL": None,
    # Prefix of every Redis key Tailor writes.
    "REDIS_PREFIX": "tailor:",
    # How often each process re-reads arm stats and recomputes allocation weights.
    "STATS_REFRESH_SECONDS": 5,
    # Lifetime of a decision token (recordEvent refuses older ones).
    "TOKEN_MAX_AGE": 7 * 24 * 3600,
    # Lifetime of a visitor token.
    "VISITOR_TOKEN_MAX_AGE": 365 * 24 * 3600,
    # Timezone assumed when the visitor's is unknown; None keeps it unknown (time rules do not match).
    "DEFAULT_TIMEZONE": None,
    # How many compiled pages each process keeps.
    "COMPILED_PAGE_CACHE_SIZE": 512,
    # Weather provider (Open-Meteo).
    "WEATHER_ENABLED": True,
    "WEATHER_URL": "https://api.open-meteo.com",
    "WEATHER_TIMEOUT": 0.3,
    "WEATHER_CACHE_SECONDS": 900,
    # The Django cache (an alias of CACHES) holding weather per cell; Redis shares it between processes.
    "WEATHER_CACHE": "default",
    # Fuzzy matching threshold for Country/City conditions (0-100).
    "GEO_FUZZY_THRESHOLD": 85,
    # Consent assumed when the request says nothing (Sec-GPC / DNT always mean no optional consent).
    "DEFAULT_CONSENT": {"personalization": False, "analytics": False},
    # How long a visitor profile lives after its last update.
    "PROFILE_RETENTION_DAYS": 180,
    # Bounds on what a client may send.
    "MAX_TEXT_LENGTH": 2000,
    "MAX_TRAITS": 50,
    # Events (recordEvent and the beacon). The Redis event stream is capped near this many entries.
    "EVENT_LOG_MAXLEN": 1_000_000,
    # Event log rows in the database are kept this long (never less than TOKEN_MAX_AGE: they dedupe).
    "EVENT_LOG_RETENTION_DAYS": 90,
    # How often a process recording events enqueues the background task that folds them into the
    # hourly aggregates (Django's TASKS setting says where it runs: `variants.tasks`);
    # None: never, only `manage.py tailor_flush_events` does.
    "FLUSH_INTERVAL_SECONDS": 60,
    # Most events one flush task folds in per source (with the immediate TASKS backend it runs in a
    # request: this bounds the time it adds; with a worker it may be larger).
    "FLUSH_BATCH_SIZE": 5000,
    # Browser origins ("https://www.example.com", "http://127.0.0.1:3000": scheme, host, port; no path)
    # that may call /graphql/ and /tailor/events/ from JavaScript (CORS, through django-cors-headers'
    # middleware; see `tailor.cors`). Empty: none, and no other URL of the site is touched either way.
    "CORS_ORIGINS": [],
    # `Cache-Control: public, max-age=...` of a GET /graphql/ answer nothing visitor-specific went
    # into (`cms.graphql_view`); 0: shared caches must not reuse it.
    "GRAPHQL_CACHE_SECONDS": 60,
    # The publish webhook (`cms.revalidate`): when a page is published, unpublished or deleted, POST
    # JSON to URL (None: off) with `Authorization: Bearer SECRET`, waiting at most TIMEOUT seconds.
    # Keys left out keep these defaults.
    "REVALIDATE": {"URL": None, "SECRET": "", "TIMEOUT": 2.0},
}


def _invalid(name: str, problem: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f'TAILOR["{name}"]: {problem}')


def _origin(value: Any) -> str:
    """`value` as the Origin header a browser sends for it ("scheme://host[:port]", lower case), or a
    ValueError saying what is wrong."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a string")
    url = urlsplit(value.strip())
    try:
        url.port  # noqa: B018 (raises ValueError for a port that is not a number in 0-65535)
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port") from None
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ValueError(f"{value!r} is not an origin: expected scheme://host[:port], e.g. https://www.example.com")
    if url.path or url.query or url.fragment or "@" in url.netloc or value.strip().endswith(("?", "#")):
        raise ValueError(
            f"{value!r} is not an origin: no path, query or user name (a browser's Origin header is "
            f"scheme://host[:port] with no trailing slash)"
        )
    return f"{url.scheme}://{url.netloc}".lower()


def _cors_origins(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise _invalid("CORS_ORIGINS", f"expected a list of origins, got {value!r}")
    origins = []
    for item in value:
        try:
            origins.append(_origin(item))
        except ValueError as e:
            raise _invalid("CORS_ORIGINS", str(e)) from None
    return origins


def _graphql_cache_seconds(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid("GRAPHQL_CACHE_SECONDS", f"expected a whole number of seconds, 0 or more, got {value!r}")
    return value


def _revalidate(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid("REVALIDATE", f"expected a dict with URL, SECRET and TIMEOUT, got {value!r}")
    defaults = DEFAULTS["REVALIDATE"]
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise _invalid("REVALIDATE", f"unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(defaults)}")
    merged = {**defaults, **value}
    url = merged["URL"]
    if url is not None:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise _invalid("REVALIDATE", f"URL must be an http(s) URL or None, got {url!r}")
    if not isinstance(merged["SECRET"], str):
        raise _invalid("REVALIDATE", "SECRET must be a string")
    timeout = merged["TIMEOUT"]
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 30:
        raise _invalid("REVALIDATE", f"TIMEOUT must be a number of seconds above 0 and at most 30, got {timeout!r}")
    return merged


#: keys whose value is checked (and normalized) when the settings are read: at start-up, in
#: `cms.apps.CmsConfig.ready`, so a wrong value stops the site with a message saying what is wrong
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "CORS_ORIGINS": _cors_origins,
    "GRAPHQL_CACHE_SECONDS": _graphql_cache_seconds,
    "REVALIDATE": _revalidate,
}


class TailorSettings:
    def __init__(self, user_settings: dict[str, Any] | None = None):
        self._user_settings = user_settings
        self._cached: set[str] = set()

    @property
    def user_settings(self) -> dict[str, Any]:
        if self._user_settings is None:
            raw = getattr(django_settings, "TAILOR", {}) or {}
            if not isinstance(raw, dict):
                raise ImproperlyConfigured("TAILOR must be a dict")
            unknown = sorted(set(raw) - set(DEFAULTS))
            if unknown:
                raise ImproperlyConfigured(
                    f"Unknown TAILOR setting(s): {', '.join(unknown)}. Valid keys: {', '.join(sorted(DEFAULTS))}"
                )
            self._user_settings = {
                name: VALIDATORS[name](value) if name in VALIDATORS else value for name, value in raw.items()
            }
        return self._user_settings

    def __getattr__(self, name: str) -> Any:
        if name not in DEFAULTS:
            raise AttributeError(f"Invalid TAILOR setting: {name!r}")
        value = self.user_settings.get(name, DEFAULTS[name])
        self._cached.add(name)
        setattr(self, name, value)
        return value

    def reload(self) -> None:
        for name in self._cached:
            delattr(self, name)
        self._cached.clear()
        self._user_settings = None


tailor_settings = TailorSettings()


def _reload(*, setting: str, **kwargs: Any) -> None:
    if setting == "TAILOR":
        tailor_settings.reload()
        for receiver in _on_reload:
            receiver()


#: callables run after the settings reload (e.g. to drop clients built from old settings)
_on_reload: list = []


def on_reload(fn):
    _on_reload.append(fn)
    return fn


setting_changed.connect(_reload)
