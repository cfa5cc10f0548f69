"""Implication between conditions: does every context that matches B also match A?

The editor uses it to warn that a variant can never win under Rules: when every visitor that matches
a variant also matches an earlier one, the earlier one always wins first. The answer must be *sound*:
`implies(b, a)` is True only when it is proven; "not proven" is False (no warning), never a guess.

How: a condition is turned into the set of contexts where it evaluates to True (`Outcome.value is
True`; unknown never matches, Kleene logic), written as a union of *boxes*. A box constrains some
*dimensions* of the context (the visitor's local minute, weekday and date, the sky, the temperature,
the device, the country, the first language, the visit count, …), each to a set of known values; a
dimension a box does not mention may be anything, unknown included. `Not` is pushed down to the
leaves, where each condition type says where it evaluates to False (which is not the complement of
where it is True: an unknown fact is neither). Condition types whose meaning is not modelled here
(campaign, referrer, query parameter, city, trait, a site's own types) become *opaque* dimensions:
"this exact condition is True / False", so they still imply themselves and nothing else.

B implies A when every box of B lies inside the union of A's boxes. A box inside one of A's boxes is
immediate; otherwise it is split along a dimension into the part inside that box and the part
outside, and each part is checked again (a bounded number of steps; past the budget: not proven).

Everything here is plain Python over the engine's own condition classes (no Django).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .conditions import All, AnyOf, Condition, Not
from .device import Device
from .emotion import Emotion
from .geo import Country
from .language import Language
from .segments import InSegment
from .time import DateRange, DayOfWeek, TimeOfDay
from .visits import ReturningVisitor, VisitCount
from .vocabulary import DEVICE_CLASSES, EMOTION_LABELS
from .weather import Weather

INF = math.inf
#: most boxes a condition may expand to before we give up (not proven)
MAX_BOXES = 256
#: most splitting steps one check may take before we give up (not proven)
MAX_STEPS = 4000


class _GiveUp(Exception):
    pass


# --- sets of values of one dimension ------------------------------------------------------------------
#
# Every set says whether it contains "unknown" (the fact is absent): the sets leaves make never do;
# the universe of a dimension (what a box that does not mention it allows) does.


@dataclass(frozen=True)
class Choices:
    """A set of discrete values: `items`, or (``co``) everything but `items`; `domain` when closed."""

    items: frozenset
    co: bool = False
    unknown: bool = False
    domain: frozenset | None = None

    def _norm(self, items: frozenset, co: bool, unknown: bool) -> Choices:
        if co and self.domain is not None:
            items, co = self.domain - items, False
        return Choices(frozenset(items), co, unknown, self.domain)

    def universe(self) -> Choices:
        return self._norm(frozenset(), True, True)

    def complement(self) -> Choices:
        """The known values not in this set (used for where a leaf is False)."""
        return self._norm(self.items, not self.co, False)

    def meet(self, other: Choices) -> Choices:
        unknown = self.unknown and other.unknown
        if not self.co and not other.co:
            return self._norm(self.items & other.items, False, unknown)
        if not self.co:
            return self._norm(self.items - other.items, False, unknown)
        if not other.co:
            return self._norm(other.items - self.items, False, unknown)
        return self._norm(self.items | other.items, True, unknown)

    def minus(self, other: Choices) -> Choices:
        inverse = Choices(other.items, not other.co, not other.unknown, self.domain)
        return self.meet(inverse._norm(inverse.items, inverse.co, inverse.unknown))

    def empty(self) -> bool:
        return not self.unknown and not self.co and not self.items

    def within(self, other: Choices) -> bool:
        return self.minus(other).empty()

    def known(self) -> Choices:
        return Choices(self.items, self.co, False, self.domain)


def _merge(spans: Iterable[tuple]) -> tuple:
    """Sorted, non-empty, non-overlapping spans ``(lo, lo_in, hi, hi_in)``; touching ones merged."""
    out: list[list] = []
    for lo, lo_in, hi, hi_in in sorted(spans, key=lambda s: (s[0], not s[1])):
        if lo > hi or (lo == hi and not (lo_in and hi_in)):
            continue
        if out and (lo < out[-1][2] or (lo == out[-1][2] and (lo_in or out[-1][3]))):
            last = out[-1]
            if hi > last[2] or (hi == last[2] and hi_in):
                last[2], last[3] = hi, hi_in
            continue
        out.append([lo, lo_in, hi, hi_in])
    return tuple(tuple(s) for s in out)


@dataclass(frozen=True)
class Ranges:
    """A set of numbers: a union of intervals ``(lo, lo_inclusive, hi, hi_inclusive)``.

    Integer dimensions (minutes, dates, visits) use half-open ``[a, b)`` spans, so adjacent windows
    merge exactly. `bounds` is the dimension's domain (the complement stays inside it).
    """

    spans: tuple
    unknown: bool = False
    bounds: tuple = (-INF, True, INF, True)

    @classmethod
    def of(cls, spans: Iterable[tuple], bounds: tuple = (-INF, True, INF, True)) -> Ranges:
        return cls(_merge(spans), False, bounds).meet(cls((bounds,), True, bounds))

    def universe(self) -> Ranges:
        return Ranges((self.bounds,), True, self.bounds)

    def _complement_spans(self) -> tuple:
        out, lo, lo_in = [], -INF, True
        for s_lo, s_lo_in, s_hi, s_hi_in in self.spans:
            out.append((lo, lo_in, s_lo, not s_lo_in))
            lo, lo_in = s_hi, not s_hi_in
        out.append((lo, lo_in, INF, True))
        return _merge(out)

    def complement(self) -> Ranges:
        return Ranges(self._complement_spans(), False, self.bounds).meet(self.universe().known())

    def known(self) -> Ranges:
        return Ranges(self.spans, False, self.bounds)

    def meet(self, other: Ranges) -> Ranges:
        out = []
        for a in self.spans:
            for b in other.spans:
                lo, lo_in = max((a[0], a[1]), (b[0], b[1]), key=lambda e: (e[0], not e[1]))
                hi, hi_in = min((a[2], a[3]), (b[2], b[3]), key=lambda e: (e[0], e[1]))
                out.append((lo, lo_in, hi, hi_in))
        return Ranges(_merge(out), self.unknown and other.unknown, self.bounds)

    def minus(self, other: Ranges) -> Ranges:
        inverse = Ranges(other._complement_spans(), not other.unknown, self.bounds)
        return self.meet(inverse)

    def empty(self) -> bool:
        return not self.unknown and not self.spans

    def within(self, other: Ranges) -> bool:
        return self.minus(other).empty()


def _is_under(tag: str, prefix: str) -> bool:
    return tag == prefix or tag.startswith(prefix + "-")


@dataclass(frozen=True)
class Cones:
    """Language tags: those under a prefix in `include` (None: any tag), minus those under `exclude`.

    ``en`` covers ``en`` and ``en-GB`` (whole subtags), as `language.language_matches` does.
    """

    include: frozenset | None
    exclude: frozenset = frozenset()
    unknown: bool = False

    def universe(self) -> Cones:
        return Cones(None, frozenset(), True)

    def complement(self) -> Cones:
        if self.include is None or self.exclude:
            raise _GiveUp  # not needed for leaves
        return Cones(None, self.include, False)

    def known(self) -> Cones:
        return Cones(self.include, self.exclude, False)

    def _covered(self, tag: str, prefixes: Iterable[str]) -> bool:
        return any(_is_under(tag, p) for p in prefixes)

    def meet(self, other: Cones) -> Cones:
        if self.include is None:
            include = other.include
        elif other.include is None:
            include = self.include
        else:  # two cones meet in the deeper one, if one holds the other
            include = frozenset(
                a if _is_under(a, b) else b
                for a in self.include
                for b in other.include
                if _is_under(a, b) or _is_under(b, a)
            )
        exclude = self.exclude | other.exclude
        if include is not None:
            include = frozenset(t for t in include if not self._covered(t, exclude))
        return Cones(include, exclude, self.unknown and other.unknown)

    def minus(self, other: Cones) -> None:
        return None  # not a Cones set; such a dimension is not split

    def empty(self) -> bool:
        return not self.unknown and self.include is not None and not self.include

    def within(self, other: Cones) -> bool:
        if self.unknown and not other.unknown:
            return False
        if self.include is None:
            # every tag but the excluded ones: inside `other` only if it too includes any tag and
            # excludes nothing this set keeps
            return other.include is None and all(self._covered(n, self.exclude) for n in other.exclude)
        for tag in self.include:  # the tag itself is in this set, so `other` must hold it ...
            if other.include is not None and not self._covered(tag, other.include):
                return False
            for n in other.exclude:  # ... and exclude nothing of its cone this set keeps
                if _is_under(tag, n):
                    return False
                if _is_under(n, tag) and not self._covered(n, self.exclude):
                    return False
        return True


_BOOL = frozenset({True, False})


def _flag(value: bool) -> Choices:
    return Choices(frozenset({value}), domain=_BOOL)


# --- boxes and condition types ------------------------------------------------------------------------

Box = dict  # dimension name -> set of values

#: dimensions known together: the visitor's local clock is known or not as a whole
_KNOWN_TOGETHER = (("time.minute", "time.weekday", "time.date"),)
_UNIVERSES: dict[str, Any] = {
    "time.minute": Ranges((), True, (0, True, 1440, False)).universe(),
    "time.weekday": Choices(frozenset(), domain=frozenset(range(7))).universe(),
    "time.date": Ranges((), True).universe(),
}


def _normalize(box: Box) -> Box | None:
    """The box without impossible parts, or None when it is empty."""
    for dims in _KNOWN_TOGETHER:
        if any(d in box and not box[d].unknown for d in dims):
            for d in dims:
                box[d] = box[d].known() if d in box else _UNIVERSES[d].known()
    if any(v.empty() for v in box.values()):
        return None
    return box


def _meet(a: Box, b: Box) -> Box | None:
    out = dict(a)
    for dim, values in b.items():
        out[dim] = out[dim].meet(values) if dim in out else values
    return _normalize(out)


def _minutes(start: int, end: int) -> Ranges:
    day = (0, True, 1440, False)
    if start < end:
        return Ranges.of([(start, True, end, False)], day)
    return Ranges.of([(start, True, 1440, False), (0, True, end, False)], day)


def _leaf(condition: Condition, matched: bool) -> list[Box]:
    """Where a leaf condition evaluates to True (`matched`) or to False, as boxes."""

    def one(dim: str, values) -> list[Box]:
        return [{dim: values if matched else values.complement()}]

    if isinstance(condition, TimeOfDay):
        return one("time.minute", _minutes(condition.start, condition.end))
    if isinstance(condition, DayOfWeek):
        return one("time.weekday", Choices(frozenset(condition.days), domain=frozenset(range(7))))
    if isinstance(condition, DateRange):
        lo = condition.start.toordinal() if condition.start else -INF
        hi = condition.end.toordinal() + 1 if condition.end else INF
        return one("time.date", Ranges.of([(lo, True, hi, False)]))
    if isinstance(condition, Device):
        return one("device", Choices(frozenset(condition.devices), domain=frozenset(DEVICE_CLASSES)))
    if isinstance(condition, Country):
        return one("country", Choices(frozenset(condition.countries)))
    if isinstance(condition, VisitCount):
        lo = condition.min if condition.min is not None else 1
        hi = condition.max + 1 if condition.max is not None else INF
        return one("visit_count", Ranges.of([(lo, True, hi, False)], (1, True, INF, True)))
    if isinstance(condition, ReturningVisitor):
        return one("returning", _flag(condition.returning))
    if isinstance(condition, InSegment):
        return one(f"segment:{condition.segment}", _flag(True))  # by identity: the slug, not the name
    if isinstance(condition, Language) and not condition.any_preferred:
        return one("language.first", Cones(frozenset(t.lower() for t in condition.languages)))
    if isinstance(condition, Weather):
        sky = Choices(frozenset(condition.conditions)) if condition.conditions else None
        has_range = condition.min_temperature is not None or condition.max_temperature is not None
        temperature = None
        if has_range:
            lo = condition.min_temperature if condition.min_temperature is not None else -INF
            hi = condition.max_temperature if condition.max_temperature is not None else INF
            temperature = Ranges.of([(lo, True, hi, True)])
        if matched:
            box = {}
            if sky is not None:
                box["weather.sky"] = sky
            if temperature is not None:
                box["weather.temperature"] = temperature
            return [box]
        # False when the sky is known and not wanted, or the temperature known and out of range
        boxes = []
        if sky is not None:
            boxes.append({"weather.sky": sky.complement()})
        if temperature is not None:
            boxes.append({"weather.temperature": temperature.complement()})
        return boxes
    if isinstance(condition, Emotion):
        labels = Choices(frozenset(condition.labels), domain=frozenset(EMOTION_LABELS))
        confident = Ranges.of([(condition.min_confidence, True, INF, True)])
        if matched:
            return [{"emotion.label": labels, "emotion.confidence": confident}]
        # an unwanted label is False whatever the confidence; a wanted one below the minimum too
        return [
            {"emotion.label": labels.complement()},
            {"emotion.label": labels, "emotion.confidence": confident.complement()},
        ]
    # Not modelled: the exact condition is its own yes/no dimension.
    key = json.dumps(condition.to_spec(), sort_keys=True, default=str)
    return [{f"opaque:{key}": _flag(matched)}]


def boxes(condition: Condition | None, matched: bool = True) -> list[Box]:
    """Where `condition` evaluates to True (or, `matched=False`, to False), as a union of boxes.

    None (no conditions) matches every context: one box that constrains nothing.
    """
    if condition is None:
        return [{}] if matched else []
    if isinstance(condition, Not):
        return boxes(condition.children[0], not matched)
    if isinstance(condition, (All, AnyOf)):
        conjunction = isinstance(condition, All) == matched  # De Morgan for the False side
        parts = [boxes(child, matched) for child in condition.children]
        if not conjunction:
            out = [b for part in parts for b in part]
        else:
            out = [{}]
            for part in parts:
                out = [m for a in out for b in part if (m := _meet(a, b)) is not None]
                if len(out) > MAX_BOXES:
                    raise _GiveUp
        if len(out) > MAX_BOXES:
            raise _GiveUp
        return out
    return [b for b in (_normalize(dict(x)) for x in _leaf(condition, matched)) if b is not None]


def _value(box: Box, dim: str, like) -> Any:
    return box[dim] if dim in box else _UNIVERSES.get(dim, like.universe())


def _covered(box: Box, cover: list[Box], steps: list[int]) -> bool:
    """Whether every context in `box` is in some box of `cover`."""
    steps[0] += 1
    if steps[0] > MAX_STEPS:
        raise _GiveUp
    for i, a in enumerate(cover):
        if any(_value(box, d, v).meet(v).empty() for d, v in a.items()):
            continue  # disjoint
        outside = [d for d, v in a.items() if not _value(box, d, v).within(v)]
        if not outside:
            return True
        for dim in outside:
            mine, theirs = _value(box, dim, a[dim]), a[dim]
            rest = mine.minus(theirs)
            if rest is None:
                continue  # this dimension cannot be split; try another
            inside = _normalize({**box, dim: mine.meet(theirs)})
            beyond = _normalize({**box, dim: rest})
            return (inside is None or _covered(inside, cover, steps)) and (
                beyond is None or _covered(beyond, cover[:i] + cover[i + 1 :], steps)
            )
    return False


def implies(b: Condition | None, a: Condition | None) -> bool:
    """True when it is proven that every context matching `b` also matches `a`.

    None stands for "no conditions" (matches everyone). False means "not proven", not "no".
    """
    if a is None:
        return True
    try:
        cover = boxes(a)
        steps = [0]
        return all(_covered(box, cover, steps) for box in boxes(b))
    except _GiveUp:
        return False


def never_matches(condition: Condition | None) -> bool:
    """True when it is proven that no context matches `condition` (e.g. "Rain" and "not Rain")."""
    try:
        return condition is not None and not boxes(condition)
    except _GiveUp:
        return False


def canonical(condition: Condition | None) -> Any:
    """A form of the condition where the order of ``all`` / ``any`` children does not matter."""
    if condition is None:
        return None
    if isinstance(condition, (All, AnyOf)):
        children = sorted(json.dumps(canonical(c), sort_keys=True, default=str) for c in condition.children)
        return {"type": condition.type, "conditions": children}
    if isinstance(condition, Not):
        return {"type": "not", "condition": canonical(condition.children[0])}
    return condition.to_spec()
