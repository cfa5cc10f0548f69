"""The one `TAILOR = {...}` settings dict, read with defaults.

    from tailor.settings import tailor_settings
    tailor_settings.STATS_REFRESH_SECONDS

Unknown keys are refused with the list of valid ones (a typo must not silently do nothing), and the
accessor reloads when tests change settings (`setting_changed`).
"""

from __future__ import annotations

from typing import Any

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
            self._user_settings = raw
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
