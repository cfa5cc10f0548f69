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
    "STATS_REFRESH_SECONDS": 3,
    # Refresh weights that are merely old in a thread of their own (the request that finds them old
    # decides with them and does not wait); a slot's first weights are always read in the request.
    "REFRESH_IN_BACKGROUND": True,
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
    # Event log rows and hourly aggregates older than this are deleted by `manage.py tailor_purge` (and
    # the purge task); aggregates hold counts only, no visitor data.
    "AGGREGATE_RETENTION_DAYS": 400,
    # How often the purge task runs (enqueued by the event flush task; None: only `tailor_purge` does).
    "PURGE_INTERVAL_SECONDS": 24 * 3600,
    # The key decision and visitor tokens are signed with (None: Django's SECRET_KEY), and older keys
    # still accepted while tokens signed with them live out their lifetime (`tailor.signing`).
    "SIGNING_KEY": None,
    "SIGNING_KEY_FALLBACKS": [],
    # Bounds on what a client may send.
    "MAX_EVENT_VALUE": 1_000_000_000,
    "MAX_TEXT_LENGTH": 2000,
    "MAX_TRAITS": 50,
    # The Redis event stream earlier versions wrote was capped near this many entries (events are now
    # logged in the database; the flush still drains such a stream and warns if it was trimmed).
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
    # What one /graphql/ request may ask for (`cms.graphql_limits`); a request over a limit is refused
    # with an error naming it. MAX_BODY_BYTES: the POST body or the GET query string; MAX_TOKENS: the
    # document's tokens; MAX_DEPTH: nested selections; MAX_ALIASES: aliased fields; MAX_COST: fields,
    # fragments expanded, each 1 and Tailor's heavy ones more (personalizedPage 25). Keys left out keep
    # these defaults.
    "GRAPHQL_LIMITS": {
        "MAX_BODY_BYTES": 64 * 1024,
        "MAX_TOKENS": 2000,
        "MAX_DEPTH": 20,
        "MAX_ALIASES": 30,
        "MAX_COST": 1000,
    },
    # False: introspection (__schema, __type) is refused; __typename still works.
    "GRAPHQL_INTROSPECTION": True,
    # A folder of .graphql documents (e.g. the repository's graphql/operations): only those run, sent as
    # their exact text or by their SHA-256 (`documentId`, or Apollo's extensions.persistedQuery).
    # None: any document within GRAPHQL_LIMITS.
    "GRAPHQL_PERSISTED_OPERATIONS": None,
    # Distinct weather cells one request may look up; past it weather is unknown (with a warning).
    "WEATHER_LOOKUPS_PER_REQUEST": 3,
    # Rate limits (`tailor.ratelimit`, the `limits` library; in Redis with REDIS_URL, else per process)
    # as "N/second|minute|hour|day", None: off. Per visitor and per client address (REMOTE_ADDR: behind
    # a frontend's server that is the server's) on events (recordEvent, the beacon) and on setConsent.
    "RATE_LIMITS": {
        "EVENTS_PER_VISITOR": "600/minute",
        "EVENTS_PER_ADDRESS": "6000/minute",
        "CONSENT_PER_VISITOR": "60/minute",
        "CONSENT_PER_ADDRESS": "1200/minute",
    },
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


def _signing_key(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) < 32:
        raise _invalid("SIGNING_KEY", "expected None or a random string of at least 32 characters")
    return value


def _signing_key_fallbacks(value: Any) -> list[str]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(k, str) for k in value):
        raise _invalid("SIGNING_KEY_FALLBACKS", f"expected a list of keys (strings), got {value!r}")
    return list(value)


def _positive_days(name: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise _invalid(name, f"expected a number of days above 0, got {value!r}")
        return value

    return check


def _max_event_value(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1e12:
        raise _invalid("MAX_EVENT_VALUE", f"expected a number above 0 and at most 1e12, got {value!r}")
    return value


def _purge_interval(value: Any) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 60):
        raise _invalid(
            "PURGE_INTERVAL_SECONDS", f"expected None or a whole number of seconds, at least 60, got {value!r}"
        )
    return value


def _graphql_limits(value: Any) -> dict[str, int]:
    merged = _merged("GRAPHQL_LIMITS", value)
    for key, limit in merged.items():
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise _invalid("GRAPHQL_LIMITS", f"{key} must be a whole number above 0, got {limit!r}")
    return merged


def _rate_limits(value: Any) -> dict[str, str | None]:
    from limits import parse  # the rate notation of the library that enforces them (`tailor.ratelimit`)

    merged = _merged("RATE_LIMITS", value)
    for key, rate in merged.items():
        try:
            rate is None or parse(rate)
        except (ValueError, TypeError):
            raise _invalid("RATE_LIMITS", f'{key} must be like "600/minute" or None, got {rate!r}') from None
    return merged


def _merged(name: str, value: Any) -> dict[str, Any]:
    """A dict setting whose keys left out keep their defaults; unknown keys refused."""
    defaults = DEFAULTS[name]
    if not isinstance(value, dict):
        raise _invalid(name, f"expected a dict with some of {', '.join(defaults)}, got {value!r}")
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise _invalid(name, f"unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(defaults)}")
    return {**defaults, **value}


def _weather_lookups(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid("WEATHER_LOOKUPS_PER_REQUEST", f"expected a whole number, 0 or more, got {value!r}")
    return value


#: keys whose value is checked (and normalized) when the settings are read: at start-up, in
#: `cms.apps.CmsConfig.ready`, so a wrong value stops the site with a message saying what is wrong
VALIDATORS: dict[str, Callable[[Any], Any]] = {
    "CORS_ORIGINS": _cors_origins,
    "GRAPHQL_CACHE_SECONDS": _graphql_cache_seconds,
    "REVALIDATE": _revalidate,
    "GRAPHQL_LIMITS": _graphql_limits,  # (these three: `cms.graphql_limits`, `tailor.ratelimit`)
    "RATE_LIMITS": _rate_limits,
    "WEATHER_LOOKUPS_PER_REQUEST": _weather_lookups,
    "SIGNING_KEY": _signing_key,
    "SIGNING_KEY_FALLBACKS": _signing_key_fallbacks,
    "MAX_EVENT_VALUE": _max_event_value,
    "PURGE_INTERVAL_SECONDS": _purge_interval,
    "PROFILE_RETENTION_DAYS": _positive_days("PROFILE_RETENTION_DAYS"),
    "EVENT_LOG_RETENTION_DAYS": _positive_days("EVENT_LOG_RETENTION_DAYS"),
    "AGGREGATE_RETENTION_DAYS": _positive_days("AGGREGATE_RETENTION_DAYS"),
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
