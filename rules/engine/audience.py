"""Audience conditions: who the visitor is (device, language, traits, segments, visit history).

This module also holds the parameter helpers the other condition modules share, and the one table of
the context facts that conditions read. The context builder produces exactly these names and shapes;
a fact it cannot establish is left out (unknown), and every condition that reads it then answers
unknown, which never matches.

==============  ================================================================  ===================
fact            value                                                             read by
==============  ================================================================  ===================
``now``         aware (or visitor-local naive) ``datetime``                       time conditions
``timezone``    IANA name, ``"Asia/Seoul"``                                       time conditions
``weather``     ``{"condition": "clear" | "clouds" | "fog" | "drizzle" | "rain"   Weather
                | "snow" | "thunderstorm" | None, "temperature_c": float | None}``
``city``        free text as sent: ``"Seoul"``, ``"seoul-si"``, ``"서울"``          City (and the
                                                                                  Weather reason)
``country``     ISO 3166-1 alpha-2, upper case: ``"KR"``                          Country
``emotion``     ``{"label": "anger" | "disgust" | "fear" | "joy" | "neutral" |    Emotion
                "sadness" | "surprise", "confidence": float in 0..1}``
``segments``    ``frozenset`` of segment slugs the visitor belongs to             InSegment
``device``      ``"mobile" | "tablet" | "desktop" | "bot"`` (see `device.py`)     Device
``utm``         ``{"source", "medium", "campaign", "term", "content"}`` -> lower-  Utm
                cased str; ``{}`` = known to carry no campaign parameters
``referrer``    URL or bare domain; ``""`` = known direct visit (no referrer)     Referrer
``query``       ``{name: value}`` str -> str, the page's query parameters         QueryParam
``visit_count`` int >= 1, this visit included                                     VisitCount
``returning``   bool: seen before this visit                                      ReturningVisitor
``first_seen``  ``datetime`` of the first visit (may be absent)                   —
``last_seen``   ``datetime`` of the previous visit (may be absent)                —
``language``    tuple of BCP-47 tags by preference: ``("ko-KR", "ko", "en")``     Language
``traits``      ``{key: str | int | float | bool}`` a frontend sends              Trait
==============  ================================================================  ===================
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from .conditions import Condition, ConditionError, Outcome, register
from .context import Context
from .device import DEVICE_CLASSES

#: most entries a list parameter may hold (a condition is not a database)
MAX_ITEMS = 100
MAX_TEXT = 200


# --- parameter helpers (shared by the sibling condition modules) ---------------------------------


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def text_list(
    params: Mapping[str, Any],
    field: str,
    *,
    noun: str = "value",
    required: bool = True,
    split_commas: bool = False,
    max_len: int = MAX_TEXT,
) -> tuple[str, ...]:
    """A list of non-empty strings from `params[field]`, stripped and de-duplicated in order.

    A single string counts as a one-item list (and, with `split_commas`, as a comma-separated one,
    the way a plain text input sends it).
    """
    raw = params.get(field)
    if is_blank(raw):
        if required:
            raise ConditionError(field, f"pick at least one {noun}")
        return ()
    if isinstance(raw, str):
        raw = raw.split(",") if split_commas else [raw]
    if not isinstance(raw, (list, tuple)):
        raise ConditionError(field, f"expected a list of {noun}s, got {type(raw).__name__}")
    items: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise ConditionError(field, f"expected text for each {noun}, got {item!r}")
        parts = item.split(",") if split_commas else [item]
        for part in parts:
            part = part.strip()
            if not part:
                continue
            if len(part) > max_len:
                raise ConditionError(field, f"{noun} {part[:20]!r}… is longer than {max_len} characters")
            if part not in items:
                items.append(part)
    if not items:
        if required:
            raise ConditionError(field, f"pick at least one {noun}")
        return ()
    if len(items) > MAX_ITEMS:
        raise ConditionError(field, f"at most {MAX_ITEMS} {noun}s")
    return tuple(items)


def choice_list(
    params: Mapping[str, Any], field: str, choices: Sequence[str], *, noun: str, required: bool = True
) -> tuple[str, ...]:
    """A subset of `choices` (case-insensitive), in the order of `choices` so equal sets compare equal."""
    picked = {c.lower() for c in text_list(params, field, noun=noun, required=required, split_commas=True)}
    unknown = sorted(picked.difference(choices))
    if unknown:
        raise ConditionError(field, f"unknown {noun} {unknown[0]!r}; choose from {', '.join(choices)}")
    return tuple(c for c in choices if c in picked)


def number_param(
    params: Mapping[str, Any],
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    integer: bool = False,
    default: float | None = None,
) -> Any:
    """A finite number (int when `integer`), or `default` when the field is blank.

    Numeric strings are accepted because form inputs send them.
    """
    raw = params.get(field)
    if is_blank(raw):
        return default
    kind = "a whole number" if integer else "a number"
    if isinstance(raw, bool):
        raise ConditionError(field, f"expected {kind}, got {raw!r}")
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise ConditionError(field, f"expected {kind}, got {raw!r}") from None
    if not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise ConditionError(field, f"expected {kind}, got {raw!r}")
    if integer:
        if raw != int(raw):
            raise ConditionError(field, f"expected {kind}, got {raw!r}")
        value: Any = int(raw)
    else:
        value = int(raw) if isinstance(raw, int) or raw == int(raw) else float(raw)
    too_low = minimum is not None and value < minimum
    too_high = maximum is not None and value > maximum
    if (too_low or too_high) and minimum is not None and maximum is not None:
        raise ConditionError(field, f"must be between {fmt_number(minimum)} and {fmt_number(maximum)}")
    if too_low:
        raise ConditionError(field, f"must be at least {fmt_number(minimum)}")
    if too_high:
        raise ConditionError(field, f"must be at most {fmt_number(maximum)}")
    return value


_TRUE = frozenset({"true", "yes", "on", "1"})
_FALSE = frozenset({"false", "no", "off", "0"})


def as_bool(value: Any) -> bool | None:
    """True/False for a bool, 0/1 or a yes/no word; None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
    return None


def bool_param(params: Mapping[str, Any], field: str, *, default: bool) -> bool:
    raw = params.get(field)
    if is_blank(raw):
        return default
    value = as_bool(raw)
    if value is None:
        raise ConditionError(field, f"expected true or false, got {raw!r}")
    return value


def fmt_number(value: float) -> str:
    """12 -> '12', 12.5 -> '12.5' (no trailing '.0' in editors' words)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def join_or(items: Sequence[str], limit: int = 5) -> str:
    """'a', 'a or b', 'a, b or c'; long lists end with '… or 3 more'."""
    items = list(items)
    if len(items) > limit:
        return ", ".join(items[:limit]) + f" or {len(items) - limit} more"
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def quoted(text: str) -> str:
    return f"“{text}”"


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        suffix = "th"
    else:
        suffix = {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


# --- device --------------------------------------------------------------------------------------

_DEVICE_WORDS = {"mobile": "Mobile device", "tablet": "Tablet", "desktop": "Desktop", "bot": "Bot or crawler"}


@register
class Device(Condition):
    """The visitor's device class is one of `devices`."""

    type = "device"
    label = "Device"
    facts = ("device",)

    def __init__(self, devices: Sequence[str]):
        self.devices = tuple(devices)

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(choice_list(params, "devices", DEVICE_CLASSES, noun="device"))

    def to_params(self):
        return {"devices": list(self.devices)}

    def describe(self) -> str:
        return f"Device is {join_or(self.devices)}"

    def evaluate(self, ctx: Context) -> Outcome:
        device = ctx.get("device")
        if device not in DEVICE_CLASSES:
            return self.unknown("device" if device is None else f"device {device!r}")
        if device in self.devices:
            return Outcome(True, _DEVICE_WORDS[device])
        return Outcome(False, f"{_DEVICE_WORDS[device]}, not {join_or(self.devices)}")


# --- language ------------------------------------------------------------------------------------

_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")


def canonical_language(tag: str) -> str | None:
    """'EN_gb' -> 'en-GB', 'zh-hant-tw' -> 'zh-Hant-TW'; None when it is not a language tag."""
    if not isinstance(tag, str):
        return None
    text = tag.strip().replace("_", "-").lower()
    if len(text) > 35 or not _LANGUAGE_TAG.match(text):
        return None
    parts = text.split("-")
    out = [parts[0]]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())  # script
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())  # region
        else:
            out.append(part)
    return "-".join(out)


def language_matches(visitor_tag: str, wanted: str) -> bool:
    """Prefix match on whole subtags: 'en' matches 'en-GB'; 'en-GB' does not match 'en' or 'eng'."""
    v, w = visitor_tag.lower(), wanted.lower()
    return v == w or v.startswith(w + "-")


@register
class Language(Condition):
    """The visitor's first language (or, with `any_preferred`, any accepted one) matches a tag prefix."""

    type = "language"
    label = "Language"
    facts = ("language",)

    def __init__(self, languages: Sequence[str], any_preferred: bool = False):
        self.languages = tuple(languages)
        self.any_preferred = any_preferred

    @classmethod
    def from_params(cls, params, registry=None):
        tags = []
        for raw in text_list(params, "languages", noun="language", split_commas=True, max_len=35):
            tag = canonical_language(raw)
            if tag is None:
                raise ConditionError("languages", f"{raw!r} is not a language tag; use e.g. 'ko', 'en-GB'")
            if tag not in tags:
                tags.append(tag)
        return cls(tags, bool_param(params, "any_preferred", default=False))

    def to_params(self):
        return {"languages": list(self.languages), "any_preferred": self.any_preferred}

    def describe(self) -> str:
        if self.any_preferred:
            return f"Accepts language {join_or(self.languages)}"
        return f"Language is {join_or(self.languages)}"

    def evaluate(self, ctx: Context) -> Outcome:
        raw = ctx.get("language")
        if isinstance(raw, str):
            raw = (raw,)
        if not isinstance(raw, (list, tuple)):
            return self.unknown("language")
        tags = [t for t in (canonical_language(x) for x in raw[:20]) if t]
        if not tags:
            return self.unknown("language")
        considered = tags if self.any_preferred else tags[:1]
        for i, tag in enumerate(considered):
            if any(language_matches(tag, w) for w in self.languages):
                if i == 0:
                    return Outcome(True, f"Language {tag}")
                return Outcome(True, f"Accepts {tag} ({ordinal(i + 1)} preference)")
        if self.any_preferred:
            shown = ", ".join(tags[:3]) + (", …" if len(tags) > 3 else "")
            return Outcome(False, f"Accepts {shown}, not {join_or(self.languages)}")
        return Outcome(False, f"Language {tags[0]}, not {join_or(self.languages)}")


# --- traits --------------------------------------------------------------------------------------

_TRAIT_KEY = re.compile(r"^[\w.:-]{1,64}$")
TRAIT_OPERATORS = ("equals", "not_equals", "contains", "gt", "gte", "lt", "lte", "exists")
_NUMERIC_OPERATORS = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def as_number(value: Any) -> float | None:
    """A finite float for an int/float (not bool) or a numeric string; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return fmt_number(value)
    return quoted(str(value))


@register
class Trait(Condition):
    """A custom key/value the frontend sends (``traits``), compared with `operator`.

    Text compares case-insensitively; a number compares numerically with a number or numeric text;
    a bool equals true/false (or yes/no, 1/0). A trait the visitor did not send is unknown, so
    ``not_equals`` does not match visitors who never sent the key; ``exists`` asks exactly that.
    """

    type = "trait"
    label = "Trait"
    facts = ("traits",)

    def __init__(self, key: str, operator: str, value: Any = None):
        self.key, self.operator, self.value = key, operator, value
        # Precomputed once: the configured value as a number, a yes/no and text.
        self._number = as_number(value)
        self._bool = as_bool(value)
        self._text = (fmt_number(value) if isinstance(value, (int, float)) else str(value)).casefold()

    @classmethod
    def from_params(cls, params, registry=None):
        key = params.get("key")
        if not isinstance(key, str) or not key.strip():
            raise ConditionError("key", "enter the trait's key, e.g. 'plan'")
        key = key.strip()
        if len(key) > 64:
            raise ConditionError("key", "at most 64 characters")
        if not _TRAIT_KEY.match(key):
            raise ConditionError("key", "use letters, digits and _ . : - only")
        operator = params.get("operator") or "equals"
        if operator not in TRAIT_OPERATORS:
            raise ConditionError("operator", f"unknown operator {operator!r}; choose from {', '.join(TRAIT_OPERATORS)}")
        if operator == "exists":
            return cls(key, operator)
        value = params.get("value")
        if is_blank(value):
            raise ConditionError("value", "enter the value to compare with")
        if operator in _NUMERIC_OPERATORS:
            value = number_param(params, "value")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConditionError("value", f"expected a finite number, got {value!r}")
        elif isinstance(value, str):
            value = value.strip()
            if len(value) > MAX_TEXT:
                raise ConditionError("value", f"at most {MAX_TEXT} characters")
        elif not isinstance(value, (bool, int, float)):
            raise ConditionError("value", f"expected text, a number or true/false, got {type(value).__name__}")
        if operator == "contains" and isinstance(value, bool):
            raise ConditionError("value", "'contains' needs text")
        return cls(key, operator, value)

    def to_params(self):
        params: dict[str, Any] = {"key": self.key, "operator": self.operator}
        if self.operator != "exists":
            params["value"] = self.value
        return params

    def describe(self, negated: bool = False) -> str:
        op, key = self.operator, self.key
        if op == "exists":
            return f"Trait {key} is {'not ' if negated else ''}set"
        if op in _NUMERIC_OPERATORS:
            return f"Trait {key} {'is not ' if negated else ''}{_NUMERIC_OPERATORS[op]} {fmt_number(self.value)}"
        if negated:
            verb = {"equals": "is not", "not_equals": "is", "contains": "does not contain"}[op]
        else:
            verb = {"equals": "is", "not_equals": "is not", "contains": "contains"}[op]
        return f"Trait {key} {verb} {_fmt_value(self.value)}"

    def _equals(self, actual: Any) -> bool:
        if isinstance(actual, bool) or isinstance(self.value, bool):
            return self._bool is not None and as_bool(actual) == self._bool
        number = as_number(actual)
        if number is not None and self._number is not None:
            return number == self._number
        return str(actual).casefold() == self._text

    def evaluate(self, ctx: Context) -> Outcome:
        traits = ctx.get("traits")
        if not isinstance(traits, Mapping):
            return self.unknown("traits")
        actual = traits.get(self.key)
        if self.operator == "exists":
            if actual is None:
                return Outcome(False, self.describe(negated=True))
            return Outcome(True, self.describe())
        if actual is None:
            return self.unknown(f"trait {self.key}")
        op = self.operator
        if op == "equals":
            ok = self._equals(actual)
        elif op == "not_equals":
            ok = not self._equals(actual)
        elif op == "contains":
            ok = not isinstance(actual, bool) and self._text in str(actual).casefold()
        else:
            number = as_number(actual)
            if number is None:
                return Outcome(False, f"{self.describe()}: {self.key} is not a number")
            ok = {
                "gt": number > self._number,
                "gte": number >= self._number,
                "lt": number < self._number,
                "lte": number <= self._number,
            }[op]
        # The visitor's own value stays out of the reason: traits may be personal.
        return Outcome(ok, self.describe(negated=not ok))


# --- segments ------------------------------------------------------------------------------------

_SLUG = re.compile(r"^[-\w]+$")


@register
class InSegment(Condition):
    """The visitor belongs to the segment `segment` (its slug); `name` only words the reason."""

    type = "in_segment"
    label = "In segment"
    facts = ("segments",)

    def __init__(self, segment: str, name: str | None = None):
        self.segment, self.name = segment, name

    @classmethod
    def from_params(cls, params, registry=None):
        slug = params.get("segment")
        if not isinstance(slug, str) or not slug.strip():
            raise ConditionError("segment", "choose a segment")
        slug = slug.strip()
        if len(slug) > 255 or not _SLUG.match(slug):
            raise ConditionError("segment", f"{slug[:40]!r} is not a segment slug")
        name = params.get("name")
        if is_blank(name):
            name = None
        elif not isinstance(name, str) or len(name) > 255:
            raise ConditionError("name", "expected the segment's name (text, at most 255 characters)")
        else:
            name = name.strip()
        return cls(slug, name)

    def to_params(self):
        params = {"segment": self.segment}
        if self.name:
            params["name"] = self.name
        return params

    def describe(self) -> str:
        return f"In segment {quoted(self.name or self.segment)}"

    def evaluate(self, ctx: Context) -> Outcome:
        segments = ctx.get("segments")
        if isinstance(segments, str):
            segments = {segments}
        if not isinstance(segments, (set, frozenset, list, tuple)):
            return self.unknown("segments")
        if self.segment in segments:
            return Outcome(True, self.describe())
        return Outcome(False, f"Not in segment {quoted(self.name or self.segment)}")


# --- visit history -------------------------------------------------------------------------------


@register
class VisitCount(Condition):
    """This visit's number (1 = first visit) is within [min, max]; either bound may be open."""

    type = "visit_count"
    label = "Visit count"
    facts = ("visit_count",)

    def __init__(self, minimum: int | None, maximum: int | None):
        if minimum is None and maximum is None:
            raise ConditionError("min", "give a minimum, a maximum, or both")
        if minimum is not None and maximum is not None and maximum < minimum:
            raise ConditionError("max", "the maximum is below the minimum")
        self.min, self.max = minimum, maximum

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(
            number_param(params, "min", minimum=1, maximum=10**9, integer=True),
            number_param(params, "max", minimum=1, maximum=10**9, integer=True),
        )

    def to_params(self):
        return {"min": self.min, "max": self.max}

    def describe(self) -> str:
        lo, hi = self.min, self.max
        if lo == hi == 1 or (lo in (None, 1) and hi == 1):
            return "First visit"
        if lo is not None and hi is not None:
            return f"Visit {lo}" if lo == hi else f"Visits {lo}–{hi}"
        if lo is not None:
            return f"Visit {lo} or later"
        return f"Visit {hi} or earlier"

    def evaluate(self, ctx: Context) -> Outcome:
        count = ctx.get("visit_count")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            return self.unknown("visit count")
        ok = (self.min is None or count >= self.min) and (self.max is None or count <= self.max)
        if ok:
            return Outcome(True, f"{ordinal(count)} visit")
        wanted = self.describe()
        return Outcome(False, f"{ordinal(count)} visit; wants {wanted[0].lower()}{wanted[1:]}")


@register
class ReturningVisitor(Condition):
    """The visitor has (``returning: true``) or has not (``false``) been seen before this visit."""

    type = "returning_visitor"
    label = "Returning visitor"
    facts = ("returning",)

    def __init__(self, returning: bool = True):
        self.returning = returning

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(bool_param(params, "returning", default=True))

    def to_params(self):
        return {"returning": self.returning}

    def describe(self) -> str:
        return "Returning visitor" if self.returning else "New visitor"

    def evaluate(self, ctx: Context) -> Outcome:
        returning = ctx.get("returning")
        if not isinstance(returning, bool):
            return self.unknown("visit history")
        actual = "Returning visitor" if returning else "New visitor"
        if returning == self.returning:
            return Outcome(True, actual)
        return Outcome(False, f"{actual}, not {self.describe().split()[0].lower()}")
