"""The Trait condition: a custom key/value the frontend sends (``traits``)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from .conditions import Condition, ConditionError, Outcome, outcome_by_own, register
from .context import Context
from .i18n import _, fmt_number, gettext_noop, pgettext, quoted
from .params import MAX_TEXT, as_bool, as_number, at_most_characters, is_blank, number_param

_TRAIT_KEY = re.compile(r"^[\w.:-]{1,64}$")
TRAIT_OPERATORS = ("equals", "not_equals", "contains", "gt", "gte", "lt", "lte", "exists")
_NUMERIC_OPERATORS = {"gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def _fmt_value(value: Any) -> str:
    if isinstance(value, bool):
        return pgettext("trait value", "true") if value else pgettext("trait value", "false")
    if isinstance(value, (int, float)):
        return fmt_number(value)
    return quoted(str(value))


#: trait values whose outcome can be remembered (`_trait_key`)
_SCALARS = (str, int, float, bool, type(None))


def _trait_key(condition: Trait, ctx: Context) -> tuple | None:
    """What a Trait's outcome depends on: the value (and its type: ``True == 1``) of the trait it
    names; None (not remembered) for other shapes."""
    traits = ctx.get("traits")
    if type(traits) is not dict and not isinstance(traits, Mapping):
        return None
    actual = traits.get(condition.key)
    kind = type(actual)
    if kind not in _SCALARS or (kind is str and len(actual) > 256):
        return None
    return (kind, actual)


@register
class Trait(Condition):
    """A custom key/value the frontend sends (``traits``), compared with `operator`.

    Text compares case-insensitively; a number compares numerically with a number or numeric text;
    a bool equals true/false (or yes/no, 1/0). A trait the visitor did not send is unknown, so
    ``not_equals`` does not match visitors who never sent the key; ``exists`` asks exactly that.
    """

    type = "trait"
    label = gettext_noop("Trait")
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
            raise ConditionError("key", _("enter the trait's key, e.g. 'plan'"))
        key = key.strip()
        if len(key) > 64:
            raise ConditionError("key", at_most_characters(64))
        if not _TRAIT_KEY.match(key):
            raise ConditionError("key", _("use letters, digits and _ . : - only"))
        operator = params.get("operator") or "equals"
        if operator not in TRAIT_OPERATORS:
            raise ConditionError(
                "operator",
                _("unknown operator %(operator)r; choose from %(choices)s")
                % {"operator": operator, "choices": ", ".join(TRAIT_OPERATORS)},
            )
        if operator == "exists":
            return cls(key, operator)
        value = params.get("value")
        if is_blank(value):
            raise ConditionError("value", _("enter the value to compare with"))
        if operator in _NUMERIC_OPERATORS:
            value = number_param(params, "value")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConditionError("value", _("expected a finite number, got %(value)r") % {"value": value})
        elif isinstance(value, str):
            value = value.strip()
            if len(value) > MAX_TEXT:
                raise ConditionError("value", at_most_characters(MAX_TEXT))
        elif not isinstance(value, (bool, int, float)):
            raise ConditionError(
                "value", _("expected text, a number or true/false, got %(type)s") % {"type": type(value).__name__}
            )
        if operator == "contains" and isinstance(value, bool):
            raise ConditionError("value", _("'contains' needs text"))
        return cls(key, operator, value)

    def to_params(self):
        params: dict[str, Any] = {"key": self.key, "operator": self.operator}
        if self.operator != "exists":
            params["value"] = self.value
        return params

    def describe(self, negated: bool = False) -> str:
        op, key = self.operator, self.key
        if op == "exists":
            return (_("Trait %(key)s is not set") if negated else _("Trait %(key)s is set")) % {"key": key}
        if op in _NUMERIC_OPERATORS:
            # "Trait age ≥ 18": the operator is a symbol
            pattern = (
                _("Trait %(key)s is not %(operator)s %(value)s")
                if negated
                else _("Trait %(key)s %(operator)s %(value)s")
            )
            return pattern % {"key": key, "operator": _NUMERIC_OPERATORS[op], "value": fmt_number(self.value)}
        if op == "contains":
            pattern = (
                _("Trait %(key)s does not contain %(value)s") if negated else _("Trait %(key)s contains %(value)s")
            )
        elif (op == "equals") != negated:  # equals, or a negated not_equals
            pattern = _("Trait %(key)s is %(value)s")
        else:
            pattern = _("Trait %(key)s is not %(value)s")
        return pattern % {"key": key, "value": _fmt_value(self.value)}

    def _equals(self, actual: Any) -> bool:
        if isinstance(actual, bool) or isinstance(self.value, bool):
            return self._bool is not None and as_bool(actual) == self._bool
        number = as_number(actual)
        if number is not None and self._number is not None:
            return number == self._number
        return str(actual).casefold() == self._text

    @outcome_by_own(_trait_key)
    def evaluate(self, ctx: Context) -> Outcome:
        traits = ctx.get("traits")
        if not isinstance(traits, Mapping):
            return self.unknown(_("traits"))
        actual = traits.get(self.key)
        if self.operator == "exists":
            if actual is None:
                return Outcome(False, self.describe(negated=True))
            return Outcome(True, self.describe())
        if actual is None:
            return self.unknown(_("trait %(key)s") % {"key": self.key})
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
                return Outcome(
                    False, _("%(condition)s: %(key)s is not a number") % {"condition": self.describe(), "key": self.key}
                )
            ok = {
                "gt": number > self._number,
                "gte": number >= self._number,
                "lt": number < self._number,
                "lte": number <= self._number,
            }[op]
        # The visitor's own value stays out of the reason: traits may be personal.
        return Outcome(ok, self.describe(negated=not ok))
