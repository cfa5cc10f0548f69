"""Current weather from Open-Meteo for a cell of the grid. Plain Python, no Django.

The provider asks Open-Meteo for the centre of the visitor's 0.1° cell, not the visitor's position:
every visitor in a cell shares one cached answer (15 min) and the upstream never sees coordinates
more precise than the cell. It calls through `rules.providers.upstream` (pooled HTTP with a total
deadline, a pybreaker circuit breaker) and caches through any object with Django's cache API, which
the rules layer injects (``django.core.cache.caches[TAILOR["WEATHER_CACHE"]]``).
"""

from __future__ import annotations

import hashlib
import logging
import math
import pickle
import threading
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import pybreaker

from ..engine.vocabulary import MAX_TEMPERATURE_C, MIN_TEMPERATURE_C
from .cells import Cell, cell_of
from .upstream import DEFAULT_MAX_BYTES, Circuit, JsonClient, UpstreamError, circuit_breaker
from .weather import SOURCE_OPEN_METEO, Weather, condition_for_code, finite_or_none, is_int

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.open-meteo.com"
KEY_PREFIX = "tailor:weather:"


class WeatherCache(Protocol):
    """What the provider needs of a cache: Django's cache API, e.g. ``django.core.cache.caches[alias]``
    (the rules layer injects it; this module stays plain Python). ``get(key, default)`` returns
    `default` on a miss; ``set(key, value, timeout)`` stores for `timeout` seconds (0: not at all)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, timeout: Any = ...) -> Any: ...


_MISSING: Any = object()

# What decoding a foreign or corrupt cache entry raises (Django's Redis backend unpickles): the
# backend answered, so these are misses, not cache failures.
_CORRUPT_ENTRY = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError)


class _Flight:
    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Weather | None = None


class OpenMeteoProvider:
    """Current weather from Open-Meteo, cached per cell, behind a deadline and a circuit breaker.

    `current()` answers None whenever the weather cannot be had in time (timeout, HTTP error,
    malformed answer, open circuit); it never raises for upstream problems. A failure is remembered
    in the cache for `negative_ttl` seconds, so a failing upstream is not asked again by every
    request (nor by every process, when the cache is shared), and concurrent misses on one cell
    share a single upstream request.

    A cache that fails (Redis down) is a miss, and is then left alone for `cache_retry_after` seconds
    so that an outage costs one timeout, not one per request. Meanwhile `fallback` (an in-process
    cache, such as Django's LocMemCache) stands in for it, so the upstream is not asked on every
    request either; a cache that works never touches the fallback.

    `breaker` is a pybreaker CircuitBreaker (default: 5 consecutive failures open it for 30 s). Cache
    keys hold a digest of `base_url`: answers from another upstream are not mixed in.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        cache: WeatherCache,
        timeout: float = 0.3,
        breaker: pybreaker.CircuitBreaker | None = None,
        cell_degrees: float = 0.1,
        ttl: float = 900.0,
        negative_ttl: float = 60.0,
        max_bytes: int = DEFAULT_MAX_BYTES,
        key_prefix: str = KEY_PREFIX,
        fallback: WeatherCache | None = None,
        cache_retry_after: float = 10.0,
        client: JsonClient | None = None,
    ):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError("timeout must be a positive number of seconds")
        cell_of(0.0, 0.0, cell_degrees)  # validates the cell size
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cache = cache
        self.fallback = fallback
        self.breaker = breaker if breaker is not None else circuit_breaker("open-meteo")
        self.circuit = Circuit(self.breaker)
        self.cache_breaker = circuit_breaker(
            "weather cache", fail_max=1, reset_timeout=cache_retry_after, exclude=_CORRUPT_ENTRY
        )
        self._cache_circuit = Circuit(self.cache_breaker)
        self.client = client if client is not None else JsonClient(max_bytes=max_bytes)
        self.cell_degrees = cell_degrees
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.key_prefix = f"{key_prefix}{hashlib.sha256(self.base_url.encode()).hexdigest()[:8]}:"
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}

    def cell(self, latitude: float, longitude: float) -> Cell:
        return cell_of(latitude, longitude, self.cell_degrees)

    def cache_key(self, cell: Cell) -> str:
        return self.key_prefix + cell.key

    def current(self, latitude: float, longitude: float) -> Weather | None:
        """The current weather at the point's cell, or None when unknown right now.

        Raises InvalidContext (a ValueError) for coordinates off the globe, NaN or infinite.
        """
        cell = self.cell(latitude, longitude)
        key = self.cache_key(cell)
        cached = self._cache_get(key)
        if cached is not _MISSING:
            return self._decode(cached)
        with self._lock:
            flight = self._flights.get(key)
            leading = flight is None
            if leading:
                flight = self._flights[key] = _Flight()
        if not leading:
            # Another thread is asking upstream for this cell; its answer is bounded by the timeout.
            flight.done.wait(self.timeout)
            return flight.result
        try:
            flight.result = self._fetch(cell, key)
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()
        return flight.result

    def url(self, cell: Cell) -> str:
        latitude, longitude = cell.center
        query = urllib.parse.urlencode(
            {
                "latitude": f"{latitude:g}",
                "longitude": f"{longitude:g}",
                "current": "temperature_2m,weather_code,is_day",
                "timezone": "GMT",
            },
            safe=",",
        )
        return f"{self.base_url}/v1/forecast?{query}"

    def close(self) -> None:
        """Close the pooled upstream connections."""
        self.client.close()

    def _fetch(self, cell: Cell, key: str) -> Weather | None:
        url = self.url(cell)
        try:
            weather = self.circuit.call(lambda: parse_current(self.client.get_json(url, timeout=self.timeout)))
        except pybreaker.CircuitBreakerError:
            return None  # turned away without a call: not remembered, the breaker keeps callers off
        except UpstreamError as exc:
            logger.warning("Open-Meteo gave no weather for cell %s: %s", cell.label, exc)
            self._cache_set(key, None, self.negative_ttl)
            return None
        self._cache_set(key, weather.to_dict(), self.ttl)
        return weather

    def _use_cache(self, operation: Callable[[], Any]) -> Any:
        """`operation()` on the shared cache; CircuitBreakerError while the cache is left alone.

        The cache's breaker opens at the first failure (fail_max=1), so while it is closed there is
        nothing to count and an operation skips pybreaker's bookkeeping: a cache hit pays a state read,
        not the ~10 µs of `breaker.calling()`. Once open, the trial after `cache_retry_after` seconds
        goes through the Circuit like any other.
        """
        if self.cache_breaker.current_state != pybreaker.STATE_CLOSED:
            return self._cache_circuit.call(operation)
        try:
            return operation()
        except _CORRUPT_ENTRY:
            raise  # the backend answered
        except Exception:
            self.cache_breaker.open()
            raise

    def _cache_get(self, key: str) -> Any:
        try:
            return self._use_cache(lambda: self.cache.get(key, _MISSING))
        except pybreaker.CircuitBreakerError:
            pass  # the cache failed recently
        except _CORRUPT_ENTRY as exc:  # not ours, or written by an incompatible version: a miss
            logger.warning("weather cache entry unreadable: %s", type(exc).__name__)
            return _MISSING
        except Exception as exc:  # noqa: BLE001 - whatever the backend raises (Redis down, ...) is a miss
            logger.warning("weather cache read failed: %s", type(exc).__name__)
        return self.fallback.get(key, _MISSING) if self.fallback is not None else _MISSING

    def _cache_set(self, key: str, value: Any, ttl: float) -> None:
        seconds = max(0, math.ceil(ttl))  # Django's backends take whole seconds; 0 stores nothing
        try:
            self._use_cache(lambda: self.cache.set(key, value, seconds))
            return
        except pybreaker.CircuitBreakerError:
            pass
        except Exception as exc:  # noqa: BLE001 - a cache that cannot store is not the visitor's problem
            logger.warning("weather cache write failed: %s", type(exc).__name__)
        if self.fallback is not None:
            self.fallback.set(key, value, seconds)

    @staticmethod
    def _decode(cached: Any) -> Weather | None:
        if cached is None:
            return None  # a recent failure
        try:
            return Weather.from_dict(cached)
        except (KeyError, TypeError, ValueError, AttributeError):
            return None


def parse_current(payload: Any) -> Weather:
    """The Weather in an Open-Meteo forecast answer's ``current`` block; raises UpstreamError.

    `weather_code` is required; a missing or odd temperature or day flag is unknown, not an error.
    """
    current = payload.get("current") if isinstance(payload, dict) else None
    if not isinstance(current, dict):
        raise UpstreamError("answer has no 'current' block")
    code = current.get("weather_code")
    if isinstance(code, float) and code.is_integer():
        code = int(code)
    if not is_int(code):
        raise UpstreamError("answer has no weather_code")
    temperature = finite_or_none(current.get("temperature_2m"))
    if temperature is not None and not MIN_TEMPERATURE_C <= temperature <= MAX_TEMPERATURE_C:
        temperature = None
    is_day = current.get("is_day")
    return Weather(
        condition=condition_for_code(code),
        temperature_c=temperature,
        is_day=bool(is_day) if is_day in (0, 1) and not isinstance(is_day, float) else None,
        code=code,
        source=SOURCE_OPEN_METEO,
        observed_at=_observed_at(current.get("time"), payload.get("utc_offset_seconds")),
    )


def _observed_at(value: Any, offset: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:  # Open-Meteo gives local time in the requested zone (we ask for GMT)
        seconds = offset if is_int(offset) and abs(offset) <= 18 * 3600 else 0
        moment = (moment - timedelta(seconds=seconds)).replace(tzinfo=UTC)
    return moment.astimezone(UTC)
