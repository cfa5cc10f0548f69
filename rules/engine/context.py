"""The request context the conditions read: plain Python, no Django.

A context is a bag of *facts*, each with the value and where it came from. A fact that is absent is
unknown, never guessed: conditions that need it do not match and say so.

The facts conditions read, and their shapes. The context builder produces exactly these names and
shapes; a fact it cannot establish is left out (unknown), and every condition that reads it then
answers unknown, which never matches. Closed sets of values are defined in `vocabulary`.

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
``device``      ``"mobile" | "tablet" | "desktop" | "bot"`` (`vocabulary`)     Device
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
``journey``     `journey.JourneySummary` of the consented profile's session       JourneyMetric
``journey_stage`` `journey.StageResult`: the funnel stage and why                 InJourneyStage
``conversion_likelihood`` `prediction.Likelihood` (probability, signals)         LikelyToConvert
``next_section`` `prediction.NextSection` (Markov row of the current section)     LikelyNextSection
==============  ================================================================  ===================
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .i18n import _

# Where a fact came from, in order of precedence (earlier wins when the same fact arrives twice).
SOURCE_INPUT = "input"
SOURCE_HEADER = "header"
SOURCE_PROVIDER = "provider"
SOURCE_PROFILE = "profile"
SOURCE_SERVER = "server"
#: segment membership, worked out from the other facts by the segments' rules
SOURCE_SEGMENTS = "segments"
FACT_SOURCES = (SOURCE_INPUT, SOURCE_HEADER, SOURCE_PROVIDER, SOURCE_PROFILE, SOURCE_SEGMENTS, SOURCE_SERVER)


class InvalidContext(ValueError):
    """A context value that cannot be used; `field` names the offending input field."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@lru_cache(maxsize=1024)
def get_zone(name: str) -> ZoneInfo:
    """The IANA zone called `name`; raises InvalidContext for anything else."""
    if not isinstance(name, str) or not name or len(name) > 64 or name not in _iana_zones():
        raise InvalidContext("timezone", _unknown_zone(name))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidContext("timezone", _unknown_zone(name)) from None


@lru_cache(maxsize=1)
def _iana_zones() -> frozenset[str]:
    """The IANA zone names (regions such as 'Asia/Seoul', and 'UTC', 'Etc/UTC', 'Etc/GMT-9'), without
    the system database's own files: 'localtime' (the server's zone), 'Factory', 'posixrules' and the
    'posix/' and 'right/' (leap-second) copies."""
    return frozenset(
        name
        for name in available_timezones()
        if name not in ("localtime", "Factory", "posixrules") and not name.startswith(("posix/", "right/"))
    )


def _unknown_zone(name: object) -> str:
    if isinstance(name, str) and len(name) > 78:
        name = name[:77] + "…"  # never echo a megabyte back
    return _("unknown timezone %(name)r; use an IANA name such as 'Asia/Seoul'") % {"name": name}


@dataclass(frozen=True, slots=True)
class Fact:
    name: str
    value: Any
    source: str
    detail: str = ""


class Context(Mapping[str, Any]):
    """Immutable mapping of fact name -> value, remembering each fact's source.

    Build one with `Context.build(...)` or `Context({"timezone": Fact(...)})`; read values with
    `ctx["timezone"]` / `ctx.get("timezone")` and provenance with `ctx.fact("timezone")`.
    """

    __slots__ = ("_facts", "_local_now", "_derived")

    def __init__(self, facts: Mapping[str, Fact] | None = None):
        self._facts: dict[str, Fact] = dict(facts or {})
        self._local_now: datetime | None | bool = False  # False = not computed yet
        self._derived: dict[Any, Any] | None = None

    @classmethod
    def build(cls, source: str = SOURCE_INPUT, **values: Any) -> Context:
        """A context from keyword values, all from one source; None values are left out (unknown)."""
        return cls({k: Fact(k, v, source) for k, v in values.items() if v is not None})

    def __getitem__(self, name: str) -> Any:
        return self._facts[name].value

    def __iter__(self) -> Iterator[str]:
        return iter(self._facts)

    def __len__(self) -> int:
        return len(self._facts)

    # `Mapping`'s own get and `in` go through __getitem__ and a KeyError; conditions call them
    # on every evaluation, so they read the table directly (same answers).
    def get(self, name: str, default: Any = None) -> Any:
        fact = self._facts.get(name)
        return default if fact is None else fact.value

    def __contains__(self, name: object) -> bool:
        return name in self._facts

    def derived(self) -> dict[Any, Any]:
        """A table for values worked out from this (immutable) context, shared by the conditions
        that read them (the visitor's local minute, say): worked out once per context, not once per
        condition. Keys are the reader's own (a module-level object or a tuple starting with one)."""
        table = self._derived
        if table is None:
            table = self._derived = {}
        return table

    def fact(self, name: str) -> Fact | None:
        return self._facts.get(name)

    def facts(self) -> list[Fact]:
        return list(self._facts.values())

    def with_facts(self, *facts: Fact) -> Context:
        """A new context where the given facts replace any existing ones of the same name."""
        new = dict(self._facts)
        for f in facts:
            new[f.name] = f
        return Context(new)

    def local_now(self) -> datetime | None:
        """The visitor's wall-clock time, or None when the clock or their timezone is unknown."""
        if self._local_now is False:
            now = self.get("now")
            tz = self.get("timezone")
            if now is None or tz is None:
                self._local_now = None
            else:
                if now.tzinfo is None:  # naive: wall-clock time in the visitor's zone
                    self._local_now = now.replace(tzinfo=get_zone(tz))
                else:
                    self._local_now = now.astimezone(get_zone(tz))
        return self._local_now  # type: ignore[return-value]


def utcnow() -> datetime:
    return datetime.now(UTC)
