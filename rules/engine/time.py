"""Time conditions, evaluated on the visitor's wall clock (their timezone), never the server's."""

from __future__ import annotations

import re
from datetime import date, datetime

from .conditions import MAX_REMEMBERED_OUTCOMES, Condition, ConditionError, Outcome, outcome_by, register
from .context import Context
from .i18n import _, gettext_noop, join_and, wording
from .vocabulary import DAY_NAMES, DAYPART_LABELS

_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")

_DAY_KEYS = {name[:3].lower(): i for i, name in enumerate(DAY_NAMES)}
#: "Mondays and Fridays": the days a condition names, in the plural
DAY_NAMES_PLURAL = (
    gettext_noop("Mondays"),
    gettext_noop("Tuesdays"),
    gettext_noop("Wednesdays"),
    gettext_noop("Thursdays"),
    gettext_noop("Fridays"),
    gettext_noop("Saturdays"),
    gettext_noop("Sundays"),
)


def parse_hhmm(value, field: str) -> int:
    """Minutes since midnight for 'HH:MM' (or 'HH:MM:SS', seconds ignored)."""
    if hasattr(value, "hour") and hasattr(value, "minute"):
        return value.hour * 60 + value.minute
    m = _HHMM.match(str(value).strip()) if isinstance(value, str) else None
    if not m:
        raise ConditionError(field, _("expected a time as HH:MM, got %(value)r") % {"value": value})
    return int(m.group(1)) * 60 + int(m.group(2))


def fmt_minutes(minutes: int) -> str:
    if type(minutes) is int and 0 <= minutes < 1440:
        return _CLOCK[minutes]
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


#: "00:00" .. "23:59", worded once (reasons name the visitor's minute)
_CLOCK = tuple(f"{m // 60:02d}:{m % 60:02d}" for m in range(1440))


def daypart(hour: float) -> str:
    """The part of the day an hour (0-24, fractions allowed) falls in: morning 05-12, afternoon
    12-17, evening 17-22, night otherwise. One definition for reasons, profiles and bandit buckets."""
    if 5 <= hour < 12:
        return "morning"
    if 12 <= hour < 17:
        return "afternoon"
    if 17 <= hour < 22:
        return "evening"
    return "night"


def period_name(start: int, end: int) -> str:
    """Morning / Afternoon / Evening / Night (translated), from the middle of the window."""
    length = (end - start) % 1440
    return _(DAYPART_LABELS[daypart((start + length / 2) % 1440 / 60)])


def _local_key(ctx: Context, part: str) -> tuple | None:
    """What a time condition's outcome depends on: the timezone and the local minute or weekday
    (worked out once per context: every time condition of a page reads it)."""
    derived = ctx.derived()
    slot = ("time-key", part)
    if slot in derived:
        return derived[slot]
    local = ctx.local_now()
    if local is None:
        key = None
    else:
        key = (ctx.get("timezone"), local.hour * 60 + local.minute if part == "minute" else local.weekday())
    derived[slot] = key
    return key


def _clock_unknown(condition: Condition, ctx: Context) -> Outcome:
    """Why a time condition cannot be evaluated: no timezone (the usual case) or no clock."""
    return condition.unknown(_("visitor timezone") if ctx.get("now") is not None else _("clock"))


def _where(condition: Condition, ctx: Context) -> str:
    """The condition on the visitor's clock: "Evening 18:00–23:00 (Asia/Seoul)" (worded once per
    timezone and language: a time condition's outcomes are remembered per minute, so a visitor in a
    minute not seen lately words a reason, and this is most of it)."""
    timezone = ctx.get("timezone") or "?"
    memo = condition.__dict__.get("_where")
    if memo is None or len(memo) >= MAX_REMEMBERED_OUTCOMES:
        memo = condition.__dict__["_where"] = {}
    key = (wording(), timezone) if type(timezone) is str else None
    text = memo.get(key) if key is not None else None
    if text is None:
        text = _("%(condition)s (%(timezone)s)") % {"condition": condition.describe(), "timezone": timezone}
        if key is not None:
            memo[key] = text
    return text


def _not_now(condition: Condition, ctx: Context, now: str) -> Outcome:
    """Not matched, and what the visitor's clock says instead: "…: it is 17:30 there"."""
    return Outcome(False, _("%(condition)s: it is %(now)s there") % {"condition": _where(condition, ctx), "now": now})


@register
class TimeOfDay(Condition):
    """Visitor-local time in [start, end). A window whose end is before its start runs overnight."""

    type = "time_of_day"
    label = gettext_noop("Time of day")
    facts = ("now", "timezone")

    def __init__(self, start: int, end: int):
        if start == end:
            raise ConditionError("end", _("start and end must differ (an empty window never matches)"))
        self.start, self.end = start, end
        self.overnight = end < start

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(parse_hhmm(params.get("start"), "start"), parse_hhmm(params.get("end"), "end"))

    def to_params(self):
        return {"start": fmt_minutes(self.start), "end": fmt_minutes(self.end)}

    def describe(self) -> str:
        return _("%(period)s %(start)s–%(end)s") % {
            "period": period_name(self.start, self.end),
            "start": fmt_minutes(self.start),
            "end": fmt_minutes(self.end),
        }

    def contains(self, minute: int) -> bool:
        if self.overnight:
            return minute >= self.start or minute < self.end
        return self.start <= minute < self.end

    @outcome_by(lambda ctx: _local_key(ctx, "minute"))
    def evaluate(self, ctx: Context) -> Outcome:
        local = ctx.local_now()
        if local is None:
            return _clock_unknown(self, ctx)
        minute = local.hour * 60 + local.minute
        if self.contains(minute):
            return Outcome(True, _where(self, ctx))
        return _not_now(self, ctx, fmt_minutes(minute))


def _describe_days(days: frozenset[int]) -> str:
    if days == frozenset(range(5)):
        return _("Weekdays")
    if days == frozenset({5, 6}):
        return _("Weekends")
    if len(days) == 7:
        return _("Every day")
    return join_and([_(DAY_NAMES_PLURAL[d]) for d in sorted(days)])


def parse_day(value, field: str = "days") -> int:
    if isinstance(value, bool):
        raise ConditionError(field, _("unknown day %(value)r") % {"value": value})
    if isinstance(value, int) and 0 <= value <= 6:
        return value
    if isinstance(value, str):
        key = value.strip().lower()[:3]
        if key in _DAY_KEYS and DAY_NAMES[_DAY_KEYS[key]].lower().startswith(value.strip().lower()):
            return _DAY_KEYS[key]
        if key.isdigit() and 0 <= int(key) <= 6:
            return int(key)
    raise ConditionError(field, _("unknown day %(value)r; use mon..sun or 0 (Monday)..6 (Sunday)") % {"value": value})


@register
class DayOfWeek(Condition):
    """The visitor's local day of the week is one of `days` (0 = Monday)."""

    type = "day_of_week"
    label = gettext_noop("Day of week")
    facts = ("now", "timezone")

    def __init__(self, days):
        self.days = frozenset(days)
        if not self.days:
            raise ConditionError("days", _("pick at least one day"))

    @classmethod
    def from_params(cls, params, registry=None):
        raw = params.get("days")
        if isinstance(raw, (str, int)):
            raw = [raw]
        if not isinstance(raw, (list, tuple, set, frozenset)):
            raise ConditionError("days", _("expected a list of days"))
        return cls(parse_day(d) for d in raw)

    def to_params(self):
        return {"days": sorted(self.days)}

    def describe(self) -> str:
        return _describe_days(self.days)

    @outcome_by(lambda ctx: _local_key(ctx, "weekday"))
    def evaluate(self, ctx: Context) -> Outcome:
        local = ctx.local_now()
        if local is None:
            return _clock_unknown(self, ctx)
        weekday = local.weekday()
        day = _(DAY_NAMES[weekday])
        if weekday in self.days:
            return Outcome(True, _("%(condition)s: it is %(now)s") % {"condition": _where(self, ctx), "now": day})
        return _not_now(self, ctx, day)


def parse_date(value, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):  # a datetime is a date too, but cannot be compared with one
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ConditionError(field, _("expected a date as YYYY-MM-DD, got %(value)r") % {"value": value}) from None


@register
class DateRange(Condition):
    """The visitor's local date is within [start, end], both inclusive; either end may be open."""

    type = "date_range"
    label = gettext_noop("Date range")
    facts = ("now", "timezone")

    def __init__(self, start: date | None, end: date | None):
        if start is None and end is None:
            raise ConditionError("start", _("give a start date, an end date, or both"))
        if start and end and end < start:
            raise ConditionError("end", _("the end date is before the start date"))
        self.start, self.end = start, end

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(parse_date(params.get("start"), "start"), parse_date(params.get("end"), "end"))

    def to_params(self):
        return {
            "start": self.start.isoformat() if self.start else None,
            "end": self.end.isoformat() if self.end else None,
        }

    def describe(self) -> str:
        if self.start and self.end:
            return _("%(start)s to %(end)s") % {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.start:
            return _("from %(start)s") % {"start": self.start.isoformat()}
        return _("until %(end)s") % {"end": self.end.isoformat()}  # type: ignore[union-attr]

    def evaluate(self, ctx: Context) -> Outcome:
        local = ctx.local_now()
        if local is None:
            return _clock_unknown(self, ctx)
        today = local.date()
        if (self.start is None or today >= self.start) and (self.end is None or today <= self.end):
            return Outcome(True, _where(self, ctx))
        return _not_now(self, ctx, today.isoformat())
