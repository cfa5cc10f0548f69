"""The Weather condition: the weather where the visitor is.

Fact ``weather``: ``{"condition": one of vocabulary.WEATHER_CONDITIONS | None, "temperature_c": float
| None}``; ``city`` (free text) only words the reason ("Rainy in Seoul"). Weather reads ``city`` for
its reason but does not list it in `facts`: `facts` are the decision's cache dimensions, and the city
does not change whether the weather matches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .conditions import Condition, ConditionError, Outcome, outcome_by, register
from .context import Context
from .i18n import _, fmt_number, gettext_noop, join_or, list_separator, pgettext
from .params import as_number, choice_list, number_param
from .vocabulary import MAX_TEMPERATURE_C, MIN_TEMPERATURE_C, WEATHER_CONDITIONS, WEATHER_WORDS

#: a condition as a description names it, in lower case ("Weather is rain or snow")
_SKY_NAMES = {
    "clear": lambda: pgettext("weather", "clear"),
    "clouds": lambda: pgettext("weather", "clouds"),
    "fog": lambda: pgettext("weather", "fog"),
    "drizzle": lambda: pgettext("weather", "drizzle"),
    "rain": lambda: pgettext("weather", "rain"),
    "snow": lambda: pgettext("weather", "snow"),
    "thunderstorm": lambda: pgettext("weather", "thunderstorm"),
}


def sky_name(condition: str) -> str:
    name = _SKY_NAMES.get(condition)
    return name() if name is not None else condition


def _weather_key(ctx: Context) -> tuple | None:
    """What a Weather outcome depends on: the sky, the temperature and the city its reason names."""
    weather = ctx.get("weather")
    if type(weather) is not dict and not isinstance(weather, Mapping):
        return None
    key = (weather.get("condition"), weather.get("temperature_c"), ctx.get("city"))
    for v in key:
        if v is not None and not isinstance(v, (str, int, float)):
            return None
    return key


def _degrees(value: float) -> str:
    return f"{fmt_number(round(value, 1))}°C"


def _and3(*values: bool | None) -> bool | None:
    """Kleene AND: False wins over unknown, unknown over True."""
    if False in values:
        return False
    if None in values:
        return None
    return True


@register
class Weather(Condition):
    """The weather is one of `conditions` and/or the temperature is within [min, max] °C (inclusive)."""

    type = "weather"
    label = gettext_noop("Weather")
    facts = ("weather",)

    def __init__(
        self,
        conditions: Sequence[str] = (),
        min_temperature: float | None = None,
        max_temperature: float | None = None,
    ):
        if not conditions and min_temperature is None and max_temperature is None:
            raise ConditionError("conditions", _("pick at least one weather condition or give a temperature range"))
        if min_temperature is not None and max_temperature is not None and max_temperature < min_temperature:
            raise ConditionError("max_temperature", _("the maximum temperature is below the minimum"))
        self.conditions = tuple(conditions)
        self.min_temperature, self.max_temperature = min_temperature, max_temperature

    @classmethod
    def from_params(cls, params, registry=None):
        bounds = {"minimum": MIN_TEMPERATURE_C, "maximum": MAX_TEMPERATURE_C}
        return cls(
            choice_list(
                params,
                "conditions",
                WEATHER_CONDITIONS,
                noun=gettext_noop("weather condition"),
                nouns=gettext_noop("weather conditions"),
                required=False,
            ),
            number_param(params, "min_temperature", **bounds),
            number_param(params, "max_temperature", **bounds),
        )

    def to_params(self):
        return {
            "conditions": list(self.conditions),
            "min_temperature": self.min_temperature,
            "max_temperature": self.max_temperature,
        }

    def _range_text(self) -> str:
        lo, hi = self.min_temperature, self.max_temperature
        if lo is not None and hi is not None:
            return _("%(start)s to %(end)s") % {"start": _degrees(lo), "end": _degrees(hi)}
        if lo is not None:
            return _("at least %(temperature)s") % {"temperature": _degrees(lo)}
        return _("at most %(temperature)s") % {"temperature": _degrees(hi)}  # type: ignore[arg-type]

    def _has_range(self) -> bool:
        return self.min_temperature is not None or self.max_temperature is not None

    def describe(self) -> str:
        if not self._has_range():
            return _("Weather is %(conditions)s") % {"conditions": join_or([sky_name(c) for c in self.conditions])}
        if not self.conditions:
            return _("Temperature %(range)s") % {"range": self._range_text()}
        return _("Weather is %(conditions)s, temperature %(range)s") % {
            "conditions": join_or([sky_name(c) for c in self.conditions]),
            "range": self._range_text(),
        }

    @outcome_by(_weather_key)
    def evaluate(self, ctx: Context) -> Outcome:
        weather = ctx.get("weather")
        if not isinstance(weather, Mapping):
            return self.unknown(_("weather"))
        condition = weather.get("condition")
        condition = condition.lower() if isinstance(condition, str) and condition else None
        temperature = as_number(weather.get("temperature_c"))

        sky_ok: bool | None = True
        if self.conditions:
            sky_ok = None if condition is None else condition in self.conditions
        temp_ok: bool | None = True
        if self._has_range():
            temp_ok = (
                None
                if temperature is None
                else (
                    (self.min_temperature is None or temperature >= self.min_temperature)
                    and (self.max_temperature is None or temperature <= self.max_temperature)
                )
            )
        ok = _and3(sky_ok, temp_ok)
        if ok is None:
            return self.unknown(_("weather condition") if sky_ok is None else _("temperature"))

        # "Rainy, 12°C in Seoul": what the visitor has, in the terms the condition asked about.
        observed = []
        if self.conditions and condition is not None:
            observed.append(_(WEATHER_WORDS[condition]) if condition in WEATHER_WORDS else condition.capitalize())
        if self._has_range() and temperature is not None:
            observed.append(_degrees(temperature))
        text = list_separator().join(observed)
        city = ctx.get("city")
        if isinstance(city, str) and city.strip():
            text = _("%(weather)s in %(city)s") % {"weather": text, "city": city.strip()[:80]}
        if ok:
            return Outcome(True, text)
        return Outcome(False, _("%(observed)s; needed: %(wanted)s") % {"observed": text, "wanted": self.describe()})
