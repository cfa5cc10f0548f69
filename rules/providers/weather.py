"""Current weather for the context: from the frontend, else from a provider. Plain Python, no Django.

Precedence: weather sent by the frontend (``context.weather``) wins, whole: when it is present the
provider is not called, and its facts are not mixed with the provider's (an explanation then names
one source). Otherwise the provider (`rules.providers.open_meteo`) is asked by latitude/longitude for
the visitor's cell of the grid (`rules.providers.cells`); a frontend that knows only a city sends that
city's coordinates. Weather that cannot be had is unknown (None), never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Protocol

from ..engine.context import InvalidContext
from ..engine.i18n import _
from ..engine.vocabulary import MAX_TEMPERATURE_C, MIN_TEMPERATURE_C, WEATHER_CONDITIONS

SOURCE_INPUT = "input"
SOURCE_OPEN_METEO = "open-meteo"

CONDITIONS = WEATHER_CONDITIONS
CLEAR, CLOUDS, FOG, DRIZZLE, RAIN, SNOW, THUNDERSTORM = WEATHER_CONDITIONS


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
            temperature_c=finite_or_none(data.get("temperature_c")),
            is_day=data.get("is_day") if isinstance(data.get("is_day"), bool) else None,
            code=data.get("code") if is_int(data.get("code")) else None,
            source=str(data.get("source") or SOURCE_OPEN_METEO),
            observed_at=datetime.fromisoformat(observed_at) if isinstance(observed_at, str) else None,
        )


class WeatherProvider(Protocol):
    def current(self, latitude: float, longitude: float) -> Weather | None: ...


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
        raise InvalidContext(
            field, _("expected an object such as {'condition': 'rain'}, not %(type)s") % {"type": type(data).__name__}
        )
    unknown = sorted(str(k) for k in data if k not in _INPUT_KEYS)
    if unknown:
        raise InvalidContext(f"{field}.{unknown[0]}", _("unknown weather field; use condition, temperatureC and isDay"))

    condition = data.get("condition")
    if condition is not None:
        if not isinstance(condition, str) or condition.strip().lower() not in CONDITIONS:
            raise InvalidContext(
                f"{field}.condition",
                _("unknown condition %(value)r; use one of %(choices)s")
                % {"value": condition, "choices": ", ".join(CONDITIONS)},
            )
        condition = condition.strip().lower()

    given = [k for k in _TEMPERATURE_KEYS if data.get(k) is not None]
    if len(given) > 1:
        raise InvalidContext(
            f"{field}.{given[1]}",
            _("give the temperature once, not as both %(first)s and %(second)s")
            % {"first": given[0], "second": given[1]},
        )
    temperature = None
    if given:
        key = given[0]
        value = data[key]
        if not is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
            raise InvalidContext(f"{field}.{key}", _("expected a temperature in °C, got %(value)r") % {"value": value})
        if not MIN_TEMPERATURE_C <= value <= MAX_TEMPERATURE_C:
            raise InvalidContext(
                f"{field}.{key}",
                _("%(value)s °C is outside [%(lo)s, %(hi)s] °C")
                % {"value": value, "lo": f"{MIN_TEMPERATURE_C:g}", "hi": f"{MAX_TEMPERATURE_C:g}"},
            )
        temperature = float(value)

    is_day = None
    for key in _IS_DAY_KEYS:
        if data.get(key) is not None:
            if not isinstance(data[key], bool):
                raise InvalidContext(
                    f"{field}.{key}", _("expected true or false, got %(value)r") % {"value": data[key]}
                )
            is_day = data[key]

    if condition is None and temperature is None:
        raise InvalidContext(field, _("give a condition and/or a temperature"))
    return Weather(condition, temperature, is_day=is_day, source=SOURCE_INPUT)


def resolve_weather(
    frontend: Mapping[str, Any] | None,
    provider: WeatherProvider | None,
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


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def finite_or_none(value: Any) -> float | None:
    if not is_number(value):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer too large for a float
        return None
    return value if math.isfinite(value) else None
