"""Visit-history conditions: the visit's number and whether the visitor has been seen before.

Both read the consented profile's facts (``visit_count``, ``returning``); without consent they are
unknown, so these conditions do not match.
"""

from __future__ import annotations

from .conditions import Condition, ConditionError, Outcome, register
from .context import Context
from .i18n import _, gettext_noop, ordinal
from .params import bool_param, number_param


@register
class VisitCount(Condition):
    """This visit's number (1 = first visit) is within [min, max]; either bound may be open."""

    type = "visit_count"
    label = gettext_noop("Visit count")
    facts = ("visit_count",)

    def __init__(self, minimum: int | None, maximum: int | None):
        if minimum is None and maximum is None:
            raise ConditionError("min", _("give a minimum, a maximum, or both"))
        if minimum is not None and maximum is not None and maximum < minimum:
            raise ConditionError("max", _("the maximum is below the minimum"))
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
            return _("First visit")
        if lo is not None and hi is not None:
            if lo == hi:
                return _("Visit %(number)s") % {"number": lo}
            return _("Visits %(min)s–%(max)s") % {"min": lo, "max": hi}
        if lo is not None:
            return _("Visit %(number)s or later") % {"number": lo}
        return _("Visit %(number)s or earlier") % {"number": hi}

    def evaluate(self, ctx: Context) -> Outcome:
        count = ctx.get("visit_count")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            return self.unknown(_("visit count"))
        ok = (self.min is None or count >= self.min) and (self.max is None or count <= self.max)
        visit = _("%(ordinal)s visit") % {"ordinal": ordinal(count)}
        if ok:
            return Outcome(True, visit)
        return Outcome(False, _("%(observed)s; needed: %(wanted)s") % {"observed": visit, "wanted": self.describe()})


@register
class ReturningVisitor(Condition):
    """The visitor has (``returning: true``) or has not (``false``) been seen before this visit."""

    type = "returning_visitor"
    label = gettext_noop("Returning visitor")
    facts = ("returning",)

    def __init__(self, returning: bool = True):
        self.returning = returning

    @classmethod
    def from_params(cls, params, registry=None):
        return cls(bool_param(params, "returning", default=True))

    def to_params(self):
        return {"returning": self.returning}

    def describe(self) -> str:
        return _("Returning visitor") if self.returning else _("New visitor")

    def evaluate(self, ctx: Context) -> Outcome:
        returning = ctx.get("returning")
        if not isinstance(returning, bool):
            return self.unknown(_("visit history"))
        if returning == self.returning:
            return Outcome(True, _("Returning visitor") if returning else _("New visitor"))
        return Outcome(False, _("Returning visitor, not new") if returning else _("New visitor, not returning"))
