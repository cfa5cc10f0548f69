"""Visit-history conditions: the visit's number and whether the visitor has been seen before.

Both read the consented profile's facts (``visit_count``, ``returning``); without consent they are
unknown, so these conditions do not match.
"""

from __future__ import annotations

from .conditions import Condition, ConditionError, Outcome, register
from .context import Context
from .i18n import ordinal
from .params import bool_param, number_param


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
