"""Current weather for the context: from the frontend, else from Open-Meteo. Plain Python, no Django.

Precedence: weather sent by the frontend (``context.weather``) wins, whole: when it is present the
provider is not called, and its facts are not mixed with the provider's (an explanation then names
one source). Otherwise the provider is asked by latitude/longitude; a frontend that knows only a city
sends that city's coordinates. Weather that cannot be had is unknown (None), never guessed.

The provider asks Open-Meteo for the centre of the visitor's 0.1° cell, not the visitor's position:
every visitor in a cell shares one cached answer (15 min) and the upstream never sees coordinates
more precise than the cell. Cells are aligned on multiples of the cell size and half-open
(``south <= lat < north``, floor, not round), so a coordinate belongs to exactly one fixed cell; the
last row and column are closed so that 90° and 180° have a cell too.
"""

from __future__ import annotations

import logging
import math
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from ..engine.context import InvalidContext
from ..engine.vocabulary import MAX_TEMPERATURE_C, MIN_TEMPERATURE_C, WEATHER_CONDITIONS
from .cache import MISSING, Cache, MemoryCache, RedisCache, TieredCache
from .resilience import CircuitBreaker, UpstreamError, get_json

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.open-meteo.com"
REDIS_PREFIX = "tailor:weather:"

SOURCE_INPUT = "input"
SOURCE_OPEN_METEO = "open-meteo"

CONDITIONS = WEATHER_CONDITIONS
CLEAR, CLOUDS, FOG, DRIZZLE, RAIN, SNOW, THUNDERSTORM = WEATHER_CONDITIONS

MIN_CELL_DEGREES = 1e-6
MAX_CELL_DEGREES = 10.0


# WMO weather interpretation codes (WW) as Open-Meteo reports them. 1 "mainly clear" is clear: a
# visitor looking out of the window calls it a clear day; 2 "partly cloudy" and 3 "overcast" are
# clouds. Freezing drizzle (56, 57) stays drizzle and freezing rain (66, 67) rain: what falls decides,
# not its temperature. Snow grains (77) and snow showers (85, 86) are snow; 96/99 (with hail) are
# thunderstorms. Any other code is unknown.
WMO_CONDITIONS: dict[int, str] = {
    0: CLEAR,
    1: CLEAR,
    2: CLOUDS,
    3: CLOUDS,
    45: FOG,
    48: FOG,
    **dict.fromkeys((51, 53, 55, 56, 57), DRIZZLE),
    **dict.fromkeys((61, 63, 65, 66, 67, 80, 81, 82), RAIN),
    **dict.fromkeys((71, 73, 75, 77, 85, 86), SNOW),
    **dict.fromkeys((95, 96, 99), THUNDERSTORM),
}


def condition_for_code(code: int | None) -> str | None:
    """The condition for a WMO weather code; None (unknown) for a code outside the table."""
    return WMO_CONDITIONS.get(code) if code is not None else None


@dataclass(frozen=True, slots=True)
class Weather:
    condition: str | None
    temperature_c: float | None
    is_day: bool | None = None
    code: int | None = None
    source: str = SOURCE_OPEN_METEO
    observed_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (what the caches store); `from_dict` reads it back."""
        data = asdict(self)
        data["observed_at"] = self.observed_at.isoformat() if self.observed_at else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Weather:
        observed_at = data.get("observed_at")
        return cls(
            condition=data["condition"] if data["condition"] in CONDITIONS else None,
            temperature_c=_finite_or_none(data.get("temperature_c")),
            is_day=data.get("is_day") if isinstance(data.get("is_day"), bool) else None,
            code=data.get("code") if _is_int(data.get("code")) else None,
            source=str(data.get("source") or SOURCE_OPEN_METEO),
            observed_at=datetime.fromisoformat(observed_at) if isinstance(observed_at, str) else None,
        )


# -- frontend weather ------------------------------------------------------------------------------

_TEMPERATURE_KEYS = ("temperatureC", "temperature_c", "temperature")
_IS_DAY_KEYS = ("isDay", "is_day")
_INPUT_KEYS = frozenset(("condition", *_TEMPERATURE_KEYS, *_IS_DAY_KEYS))


def weather_from_input(data: Mapping[str, Any], field: str = "weather") -> Weather:
    """Validate weather sent by the frontend: ``{"condition": "rain", "temperatureC": 12.5}``.

    The temperature may be given as `temperatureC`, `temperature_c` or `temperature` (°C, within
    [-90, 60]); `isDay` is optional. Raises InvalidContext naming the offending field (``field`` is
    the prefix, e.g. ``weather.condition``).
    """
    if not isinstance(data, Mapping):
        raise InvalidContext(field, f"expected an object such as {{'condition': 'rain'}}, not {type(data).__name__}")
    unknown = sorted(str(k) for k in data if k not in _INPUT_KEYS)
    if unknown:
        raise InvalidContext(f"{field}.{unknown[0]}", "unknown weather field; use condition, temperatureC and isDay")

    condition = data.get("condition")
    if condition is not None:
        if not isinstance(condition, str) or condition.strip().lower() not in CONDITIONS:
            raise InvalidContext(
                f"{field}.condition", f"unknown condition {condition!r}; use one of {', '.join(CONDITIONS)}"
            )
        condition = condition.strip().lower()

    given = [k for k in _TEMPERATURE_KEYS if data.get(k) is not None]
    if len(given) > 1:
        raise InvalidContext(f"{field}.{given[1]}", f"give the temperature once, not as both {given[0]} and {given[1]}")
    temperature = None
    if given:
        key = given[0]
        value = data[key]
        if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
            raise InvalidContext(f"{field}.{key}", f"expected a temperature in °C, got {value!r}")
        if not MIN_TEMPERATURE_C <= value <= MAX_TEMPERATURE_C:
            raise InvalidContext(
                f"{field}.{key}",
                f"{value} °C is outside [{MIN_TEMPERATURE_C:g}, {MAX_TEMPERATURE_C:g}] °C",
            )
        temperature = float(value)

    is_day = None
    for key in _IS_DAY_KEYS:
        if data.get(key) is not None:
            if not isinstance(data[key], bool):
                raise InvalidContext(f"{field}.{key}", f"expected true or false, got {data[key]!r}")
            is_day = data[key]

    if condition is None and temperature is None:
        raise InvalidContext(field, "give a condition and/or a temperature")
    return Weather(condition, temperature, is_day=is_day, source=SOURCE_INPUT)


def resolve_weather(
    frontend: Mapping[str, Any] | None,
    provider: OpenMeteoProvider | None,
    latitude: float | None,
    longitude: float | None,
) -> Weather | None:
    """The visitor's weather: the frontend's when sent (the provider is then not called), else the
    provider's for the coordinates, else None. Invalid input raises InvalidContext."""
    if frontend is not None:
        return weather_from_input(frontend)
    if provider is None or latitude is None or longitude is None:
        return None
    return provider.current(latitude, longitude)


# -- cells -----------------------------------------------------------------------------------------


def _decimal(value: float) -> Decimal:
    # A float's shortest repr is the decimal the visitor (or JSON) wrote: 37.3 is 37.3, not the binary
    # 37.29999... below it, so 37.3 falls in the cell starting at 37.3, as anyone reading it expects.
    return Decimal(repr(float(value)))


@dataclass(frozen=True, slots=True)
class Cell:
    """A cell of the grid: rows and columns of `degrees`, counted from the equator / prime meridian."""

    row: int
    column: int
    degrees: float

    # Float bounds are for display and the upstream query, clamped to the globe (the last row or
    # column of a grid whose size does not divide 90/180 overhangs it); `contains` is exact.
    @property
    def south(self) -> float:
        return max(float(self.row * _decimal(self.degrees)), -90.0)

    @property
    def north(self) -> float:
        return min(float((self.row + 1) * _decimal(self.degrees)), 90.0)

    @property
    def west(self) -> float:
        return max(float(self.column * _decimal(self.degrees)), -180.0)

    @property
    def east(self) -> float:
        return min(float((self.column + 1) * _decimal(self.degrees)), 180.0)

    @property
    def center(self) -> tuple[float, float]:
        """The point Open-Meteo is asked about (rounded so that the URL is stable)."""
        return round((self.south + self.north) / 2, 4), round((self.west + self.east) / 2, 4)

    @property
    def key(self) -> str:
        return f"v1:{self.degrees!r}:{self.row}:{self.column}"

    @property
    def label(self) -> str:
        """The south-west corner, for logs: no more precise than the cell."""
        places = max(0, -_decimal(self.degrees).normalize().as_tuple().exponent)
        return f"{self.south:.{places}f},{self.west:.{places}f}"

    def contains(self, latitude: float, longitude: float) -> bool:
        """Half-open, except that the northernmost row holds 90° and the easternmost column 180°."""
        return _holds(self.row, _decimal(latitude), _decimal(self.degrees), 90) and _holds(
            self.column, _decimal(longitude), _decimal(self.degrees), 180
        )


def _holds(index: int, value: Decimal, size: Decimal, limit: int) -> bool:
    low, high = index * size, (index + 1) * size
    # A cell starting at the limit (e.g. [180, 180.1)) is off the globe; the one before it holds 180.
    return low <= value and low < limit and (value < high or value == limit <= high)


def _index(value: Decimal, size: Decimal, limit: int) -> int:
    quotient, remainder = divmod(value, size)  # exact; truncates toward zero
    index = int(quotient) - (1 if remainder and value < 0 else 0)
    if value == limit and index * size >= limit:  # the last row/column is closed: 90° and 180° go in it
        index -= 1
    return index


def cell_of(latitude: float, longitude: float, degrees: float = 0.1) -> Cell:
    """The cell holding the point (floor to the grid); raises InvalidContext for a point off the globe."""
    if not (_is_number(degrees) and MIN_CELL_DEGREES <= degrees <= MAX_CELL_DEGREES):
        raise ValueError(f"cell size must be within [{MIN_CELL_DEGREES:g}, {MAX_CELL_DEGREES:g}] degrees")
    latitude = _coordinate(latitude, "latitude", 90.0)
    longitude = _coordinate(longitude, "longitude", 180.0)
    size = _decimal(degrees)
    return Cell(_index(_decimal(latitude), size, 90), _index(_decimal(longitude), size, 180), degrees)


def _coordinate(value: Any, field: str, limit: float) -> float:
    if not _is_number(value) or not -limit <= value <= limit:  # NaN and infinities fail the range test
        raise InvalidContext(field, f"expected a number within [-{limit:g}, {limit:g}], got {value!r}")
    return float(value)


# -- the provider ----------------------------------------------------------------------------------


class _Flight:
    __slots__ = ("done", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Weather | None = None


class OpenMeteoProvider:
    """Current weather from Open-Meteo, cached per cell, behind a timeout and a circuit breaker.

    `current()` answers None whenever the weather cannot be had in time (timeout, HTTP error,
    malformed answer, open circuit); it never raises for upstream problems. A failure is remembered
    for `negative_ttl` seconds so a failing upstream is not asked again by every request, and
    concurrent misses on one cell share a single upstream request. For a cache shared between
    processes, pass ``cache=weather_cache(redis_client)``.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        *,
        timeout: float = 0.3,
        cache: Cache | None = None,
        breaker: CircuitBreaker | None = None,
        cell_degrees: float = 0.1,
        ttl: float = 900.0,
        negative_ttl: float = 60.0,
        max_bytes: int = 64 * 1024,
        clock: Callable[[], float] = time.monotonic,
    ):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if not (timeout > 0 and math.isfinite(timeout)):
            raise ValueError("timeout must be a positive number of seconds")
        cell_of(0.0, 0.0, cell_degrees)  # validates the cell size
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.cache: Cache = cache if cache is not None else MemoryCache(clock=clock)
        self.breaker = breaker if breaker is not None else CircuitBreaker(clock=clock, name="open-meteo")
        self.cell_degrees = cell_degrees
        self.ttl = ttl
        self.negative_ttl = negative_ttl
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}

    def cell(self, latitude: float, longitude: float) -> Cell:
        return cell_of(latitude, longitude, self.cell_degrees)

    def current(self, latitude: float, longitude: float) -> Weather | None:
        """The current weather at the point's cell, or None when unknown right now.

        Raises InvalidContext (a ValueError) for coordinates off the globe, NaN or infinite.
        """
        cell = self.cell(latitude, longitude)
        cached = self.cache.get(cell.key)
        if cached is not MISSING:
            return self._decode(cached)
        with self._lock:
            flight = self._flights.get(cell.key)
            leading = flight is None
            if leading:
                flight = self._flights[cell.key] = _Flight()
        if not leading:
            # Another thread is asking upstream for this cell; its answer is bounded by the timeout.
            flight.done.wait(self.timeout)
            return flight.result
        try:
            flight.result = self._fetch(cell)
        finally:
            with self._lock:
                del self._flights[cell.key]
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

    def _fetch(self, cell: Cell) -> Weather | None:
        if not self.breaker.allow():
            return None  # not remembered: the breaker already keeps callers off the upstream
        try:
            weather = parse_current(get_json(self.url(cell), timeout=self.timeout, max_bytes=self.max_bytes))
        except UpstreamError as exc:
            self.breaker.record_failure()
            logger.warning("Open-Meteo gave no weather for cell %s: %s", cell.label, exc)
            self.cache.set(cell.key, None, self.negative_ttl)
            return None
        self.breaker.record_success()
        self.cache.set(cell.key, weather.to_dict(), self.ttl)
        return weather

    @staticmethod
    def _decode(cached: Any) -> Weather | None:
        if cached is None:
            return None  # a recent failure
        try:
            return Weather.from_dict(cached)
        except (KeyError, TypeError, ValueError):
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
    if not _is_int(code):
        raise UpstreamError("answer has no weather_code")
    temperature = _finite_or_none(current.get("temperature_2m"))
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
        seconds = offset if _is_int(offset) and abs(offset) <= 18 * 3600 else 0
        moment = (moment - timedelta(seconds=seconds)).replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def weather_cache(redis_client: Any = None, *, prefix: str = REDIS_PREFIX, maxsize: int = 4096) -> Cache:
    """The cache a provider should use: in-process, in front of Redis when a client is given."""
    if redis_client is None:
        return MemoryCache(maxsize)
    return TieredCache(MemoryCache(maxsize), RedisCache(redis_client, prefix))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _finite_or_none(value: Any) -> float | None:
    if not _is_number(value):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return value if math.isfinite(value) else None
