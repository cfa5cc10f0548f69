"""The explicit `context` input of an API call (GraphQL `ContextInput`, the simulator's form), validated.

Every problem raises `InvalidContext` naming the input field; its message (translated) becomes the
GraphQL error. The private signals (coordinates, the text) come back apart from the facts: they feed
providers and are never echoed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from rules.engine import Fact, InvalidContext, get_zone
from rules.engine.context import SOURCE_INPUT
from rules.engine.device import classify_device
from rules.engine.geo import resolve_country
from rules.engine.vocabulary import DEVICE_CLASSES, EMOTION_LABELS
from rules.providers.weather import weather_from_input
from tailor.settings import tailor_settings

# Bounds on `now`: a preview may look a few years ahead or back, not centuries.
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_SHORT_TEXT = 200
MAX_URL = 2048
MAX_QUERY_PARAMS = 50
MAX_LANGUAGES = 10
UTM_KEYS = ("source", "medium", "campaign", "term", "content")


@dataclass
class ParsedInput:
    facts: list[Fact]
    # Private signals: used by providers, never echoed, stored or logged.
    coordinates: tuple[float, float] | None = field(default=None, repr=False)
    text: str | None = field(default=None, repr=False)
    weather_sent: bool = False


# --- validation helpers -----------------------------------------------------------------------


def short_text(value: Any, name: str, limit: int = MAX_SHORT_TEXT) -> str:
    if not isinstance(value, str):
        raise InvalidContext(name, _("expected text, got %(type)s") % {"type": type(value).__name__})
    value = value.strip()
    if len(value) > limit:
        raise InvalidContext(
            name, _("at most %(limit)d characters (got %(length)d)") % {"limit": limit, "length": len(value)}
        )
    return value


def coordinate(value: Any, name: str, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidContext(name, _("expected a number, got %(value)r") % {"value": value})
    if not -limit <= value <= limit:
        raise InvalidContext(
            name,
            _("must be between -%(limit)s and %(limit)s (got %(value)s)")
            % {"limit": f"{limit:g}", "value": f"{value:g}"},
        )
    return float(value)


def parse_languages(value: str, name: str = "language") -> tuple[str, ...]:
    """'ko-KR,ko;q=0.9,en;q=0.8' -> ('ko-KR', 'ko', 'en'), by preference; bounded."""
    value = short_text(value, name, 500)
    weighted = []
    for i, part in enumerate(value.split(",")):
        tag, _sep, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or len(tag) > 35 or not all(c.isalnum() or c == "-" for c in tag):
            continue
        q = 1.0
        for p in params.split(";"):
            k, _sep, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, i, tag))
    return tuple(tag for _q, _i, tag in sorted(weighted))[:MAX_LANGUAGES]


def _country(value: Any, name: str) -> str:
    value = short_text(value, name, 100)
    code = resolve_country(value)
    if code is None:
        raise InvalidContext(name, _("unknown country %(value)r; use an ISO 3166 code such as 'KR'") % {"value": value})
    return code


def _pairs(value: Any, name: str, key: str) -> Any:
    """The API sends a list of {key/name, ...} objects; the rest of Tailor (forms, tests) a mapping."""
    if not isinstance(value, (list, tuple)):
        return value
    out = {}
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get(key), str):
            raise InvalidContext(f"{name}.{index}", _("expected an object with a %(key)s") % {"key": key})
        if item[key] in out:
            raise InvalidContext(f"{name}.{item[key]}", _("given twice"))
        out[item[key]] = item
    return out


def _query(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, (list, tuple)):
        value = {k: item.get("value") for k, item in _pairs(value, "query", "name").items()}
    if not isinstance(value, Mapping):
        raise InvalidContext("query", _("expected a JSON object of query parameters"))
    if len(value) > MAX_QUERY_PARAMS:
        raise InvalidContext(
            "query",
            _("at most %(limit)d parameters (got %(count)d)") % {"limit": MAX_QUERY_PARAMS, "count": len(value)},
        )
    out = {}
    for k, v in value.items():
        if isinstance(v, list):
            v = v[0] if v else ""
        if not isinstance(v, (str, int, float, bool)):
            raise InvalidContext(f"query.{k}", _("expected a text value"))
        key = short_text(str(k), "query", 100)
        out[key] = short_text(str(v), f"query.{key}", 500)
    return out


def _trait_value(key: str, item: Mapping[str, Any]) -> Any:
    """A `TraitInput` holds exactly one of text, number or flag."""
    given = [item[k] for k in ("text", "number", "flag") if item.get(k) is not None]
    if len(given) != 1:
        raise InvalidContext(f"traits.{key}", _("give exactly one of text, number or flag"))
    return given[0]


def _traits(value: Any) -> dict[str, Any]:
    if isinstance(value, (list, tuple)):
        value = {k: _trait_value(k, item) for k, item in _pairs(value, "traits", "key").items()}
    if not isinstance(value, Mapping):
        raise InvalidContext("traits", _("expected a JSON object of key/value pairs"))
    limit = int(tailor_settings.MAX_TRAITS)
    if len(value) > limit:
        raise InvalidContext(
            "traits", _("at most %(limit)d traits (got %(count)d)") % {"limit": limit, "count": len(value)}
        )
    out = {}
    for k, v in value.items():
        key = short_text(str(k), "traits", 64)
        if isinstance(v, str):
            v = short_text(v, f"traits.{key}")
        elif isinstance(v, float) and not math.isfinite(v):
            raise InvalidContext(f"traits.{key}", _("expected a finite number"))
        elif not isinstance(v, (int, float, bool)):
            raise InvalidContext(f"traits.{key}", _("expected text, a number or true/false"))
        out[key] = v
    return out


def _instant(value: Any) -> datetime:
    """A datetime, or its ISO 8601 text (the API's `ContextDateTime`); an offset is optional."""
    if isinstance(value, str) and len(value) <= 64:
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    if not isinstance(value, datetime):
        raise InvalidContext(
            "now",
            _("expected an ISO 8601 date-time such as 2026-11-30T08:00:00+09:00, got %(value)r") % {"value": value},
        )
    return value


def utm_from(query: Mapping[str, str]) -> dict[str, str]:
    return {k: query[f"utm_{k}"].lower() for k in UTM_KEYS if query.get(f"utm_{k}")}


def _enum_value(value: Any) -> str:
    return str(getattr(value, "value", value)).lower()


# --- the input layer ----------------------------------------------------------------------------


def parse_input(data: Mapping[str, Any]) -> ParsedInput:
    """The facts stated by the call, and its private signals; raises InvalidContext naming the field."""
    parsed = ParsedInput([])

    def add(name: str, value: Any, detail: str = "") -> None:
        parsed.facts.append(Fact(name, value, SOURCE_INPUT, detail))

    if data.get("timezone") is not None:
        get_zone(data["timezone"])  # raises InvalidContext("timezone", ...)
        add("timezone", data["timezone"])
    now = data.get("now")
    if now is not None:
        now = _instant(now)
        if not (MIN_YEAR <= now.year <= MAX_YEAR):
            raise InvalidContext(
                "now",
                _("year %(year)d is outside %(min)d-%(max)d") % {"year": now.year, "min": MIN_YEAR, "max": MAX_YEAR},
            )
        add("now", now)
    if data.get("country") is not None:
        add("country", _country(data["country"], "country"))
    if data.get("city") is not None:
        add("city", short_text(data["city"], "city", 100))

    lat, lon = data.get("latitude"), data.get("longitude")
    if (lat is None) != (lon is None):
        raise InvalidContext("latitude" if lat is None else "longitude", _("give latitude and longitude together"))
    if lat is not None:
        parsed.coordinates = (coordinate(lat, "latitude", 90), coordinate(lon, "longitude", 180))

    if data.get("weather") is not None:
        raw = dict(data["weather"])
        if raw.get("condition") is not None:
            raw["condition"] = _enum_value(raw["condition"])
        raw = {k: v for k, v in raw.items() if v is not None}
        w = weather_from_input(raw)
        add("weather", {"condition": w.condition, "temperature_c": w.temperature_c}, _("sent by the frontend"))
        parsed.weather_sent = True

    if data.get("device") is not None:
        device = _enum_value(data["device"])
        if device not in DEVICE_CLASSES:
            raise InvalidContext("device", _("unknown device %(value)r") % {"value": device})
        add("device", device)
    elif data.get("user_agent") is not None:
        device = classify_device(short_text(data["user_agent"], "userAgent", 1024))
        if device:
            add("device", device, _("from userAgent"))

    if data.get("language") is not None:
        languages = parse_languages(data["language"])
        if not languages:
            raise InvalidContext("language", _("no language tag in %(value)r") % {"value": data["language"]})
        add("language", languages)
    if data.get("referrer") is not None:
        add("referrer", short_text(data["referrer"], "referrer", MAX_URL))

    query = _query(data.get("query"))
    if data.get("query") is not None:
        add("query", query)
    if data.get("utm") is not None:
        utm = {k: short_text(v, f"utm.{k}").lower() for k, v in dict(data["utm"]).items() if v}
        add("utm", utm)
    elif query:
        add("utm", utm_from(query), _("from query"))

    if data.get("text") is not None:
        text = data["text"]
        if not isinstance(text, str):
            raise InvalidContext("text", _("expected text"))
        limit = int(tailor_settings.MAX_TEXT_LENGTH)
        if len(text) > limit:
            raise InvalidContext(
                "text", _("at most %(limit)d characters (got %(length)d)") % {"limit": limit, "length": len(text)}
            )
        parsed.text = text
    if data.get("emotion") is not None:
        label = _enum_value(data["emotion"])
        if label not in EMOTION_LABELS:
            raise InvalidContext("emotion", _("unknown emotion %(value)r") % {"value": label})
        add("emotion", {"label": label, "confidence": 1.0})
    if data.get("traits") is not None:
        add("traits", _traits(data["traits"]))
    return parsed
