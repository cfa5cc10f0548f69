"""Signal conditions: the weather where the visitor is, and the emotion read from their text.

Facts (shapes in `audience.py`'s table):

- ``weather``: ``{"condition": clear | clouds | fog | drizzle | rain | snow | thunderstorm | None,
  "temperature_c": float | None}``; ``city`` (free text) only words the reason ("Rainy in Seoul").
- ``emotion``: ``{"label": anger | disgust | fear | joy | neutral | sadness | surprise,
  "confidence": float in 0..1}``.

Weather reads ``city`` for its reason but does not list it in `facts`: `facts` are the decision's
cache dimensions, and the city does not change whether the weather matches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .audience import as_number, choice_list, fmt_number, join_or, number_param
from .conditions import Condition, ConditionError, Outcome, register
from .context import Context

WEATHER_CONDITIONS = ("clear", "clouds", "fog", "drizzle", "rain", "snow", "thunderstorm")
_WEATHER_WORDS = {
    "clear": "Clear",
    "clouds": "Cloudy",
    "fog": "Foggy",
    "drizzle": "Drizzly",
    "rain": "Rainy",
    "snow": "Snowy",
    "thunderstorm": "Stormy",
}
#: the coldest and hottest air temperatures ever measured, rounded outwards
MIN_TEMPERATURE, MAX_TEMPERATURE = -90, 60

EMOTION_LABELS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
_EMOTION_WORDS = {
    "anger": "Angry",
    "disgust": "Disgusted",
    "fear": "Fearful",
    "joy": "Joyful",
    "neutral": "Neutral",
    "sadness": "Sad",
    "surprise": "Surprised",
}


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
    label = "Weather"
    facts = ("weather",)

    def __init__(
        self,
        conditions: Sequence[str] = (),
        min_temperature: float | None = None,
        max_temperature: float | None = None,
    ):
        if not conditions and min_temperature is None and max_temperature is None:
            raise ConditionError("conditions", "pick at least one weather condition or give a temperature range")
        if min_temperature is not None and max_temperature is not None and max_temperature < min_temperature:
            raise ConditionError("max_temperature", "the maximum temperature is below the minimum")
        self.conditions = tuple(conditions)
        self.min_temperature, self.max_temperature = min_temperature, max_temperature

    @classmethod
    def from_params(cls, params, registry=None):
        bounds = {"minimum": MIN_TEMPERATURE, "maximum": MAX_TEMPERATURE}
        return cls(
            choice_list(params, "conditions", WEATHER_CONDITIONS, noun="weather condition", required=False),
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
            return f"{_degrees(lo)} to {_degrees(hi)}"
        if lo is not None:
            return f"at least {_degrees(lo)}"
        return f"at most {_degrees(hi)}"  # type: ignore[arg-type]

    def _has_range(self) -> bool:
        return self.min_temperature is not None or self.max_temperature is not None

    def describe(self) -> str:
        parts = []
        if self.conditions:
            parts.append(f"Weather is {join_or(self.conditions)}")
        if self._has_range():
            parts.append(("temperature " if parts else "Temperature ") + self._range_text())
        return ", ".join(parts)

    def evaluate(self, ctx: Context) -> Outcome:
        weather = ctx.get("weather")
        if not isinstance(weather, Mapping):
            return self.unknown("weather")
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
            missing = "weather condition" if sky_ok is None else "temperature"
            return self.unknown(missing)

        # "Rainy, 12°C in Seoul": what the visitor has, in the terms the condition asked about.
        observed = []
        if self.conditions and condition is not None:
            observed.append(_WEATHER_WORDS.get(condition, condition.capitalize()))
        if self._has_range() and temperature is not None:
            observed.append(_degrees(temperature))
        city = ctx.get("city")
        where = f" in {city.strip()[:80]}" if isinstance(city, str) and city.strip() else ""
        text = ", ".join(observed) + where
        if ok:
            return Outcome(True, text)
        return Outcome(False, f"{text}; wants {self.describe()[0].lower()}{self.describe()[1:]}")


@register
class Emotion(Condition):
    """The emotion read from the visitor's text is one of `labels`, with at least `min_confidence`."""

    type = "emotion"
    label = "Emotion"
    facts = ("emotion",)

    def __init__(self, labels: Sequence[str], min_confidence: float = 0.5):
        self.labels = tuple(labels)
        self.min_confidence = min_confidence

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(
            choice_list(params, "labels", EMOTION_LABELS, noun="emotion"),
            number_param(params, "min_confidence", minimum=0, maximum=1, default=0.5),
        )

    def to_params(self):
        return {"labels": list(self.labels), "min_confidence": self.min_confidence}

    def describe(self) -> str:
        return f"Emotion is {join_or(self.labels)} (confidence ≥ {self.min_confidence:.0%})"

    def evaluate(self, ctx: Context) -> Outcome:
        emotion = ctx.get("emotion")
        if not isinstance(emotion, Mapping):
            return self.unknown("emotion")
        label = emotion.get("label")
        if not isinstance(label, str) or label.lower() not in EMOTION_LABELS:
            return self.unknown("emotion")
        label = label.lower()
        word = _EMOTION_WORDS[label]
        if label not in self.labels:
            return Outcome(False, f"{word}, not {join_or(self.labels)}")
        confidence = as_number(emotion.get("confidence"))
        if confidence is None:
            return self.unknown("emotion confidence")
        if confidence >= self.min_confidence:
            return Outcome(True, f"{word} ({confidence:.0%} confidence)")
        return Outcome(False, f"{word} at only {confidence:.0%} confidence (needs {self.min_confidence:.0%})")
