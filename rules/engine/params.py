"""Reading condition parameters: the helpers every condition type's `from_params` shares.

Each validates one parameter of a spec and raises `ConditionError(field, message)` naming it, so an
editor sees the message at the right field, in their language. Numeric strings and comma-separated
text are accepted because form inputs send them.

List helpers word their messages with a `noun` ("pick at least one language"): pass it, and its
plural `nouns`, marked with `gettext_noop` so they are translated too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .conditions import ConditionError
from .i18n import _, fmt_number, gettext_noop, ngettext

#: most entries a list parameter may hold (a condition is not a database)
MAX_ITEMS = 100
MAX_TEXT = 200
#: what list messages call an item when the caller names nothing ("pick at least one value")
DEFAULT_NOUN, DEFAULT_NOUNS = gettext_noop("value"), gettext_noop("values")


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def expected_text(value: Any) -> str:
    """The message for a value that should have been text."""
    return _("expected text, got %(value)r") % {"value": value}


def at_most_characters(limit: int) -> str:
    """The message for text longer than `limit` characters."""
    return ngettext("at most %(count)d character", "at most %(count)d characters", limit) % {"count": limit}


def _nouns(noun: str, nouns: str | None) -> tuple[str, str]:
    """`noun` and its plural, translated (the plural defaults to the English `noun` + "s")."""
    if nouns is None:
        nouns = DEFAULT_NOUNS if noun == DEFAULT_NOUN else noun + "s"
    return _(noun), _(nouns)


def text_list(
    params: Mapping[str, Any],
    field: str,
    *,
    noun: str = DEFAULT_NOUN,
    nouns: str | None = None,
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
            raise ConditionError(field, _("pick at least one %(noun)s") % {"noun": _nouns(noun, nouns)[0]})
        return ()
    if isinstance(raw, str):
        raw = raw.split(",") if split_commas else [raw]
    if not isinstance(raw, (list, tuple)):
        raise ConditionError(
            field,
            _("expected a list of %(nouns)s, got %(type)s")
            % {"nouns": _nouns(noun, nouns)[1], "type": type(raw).__name__},
        )
    items: list[str] = []
    for item in raw:
        if not isinstance(item, str):
            raise ConditionError(
                field,
                _("expected text for each %(noun)s, got %(value)r") % {"noun": _nouns(noun, nouns)[0], "value": item},
            )
        parts = item.split(",") if split_commas else [item]
        for part in parts:
            part = part.strip()
            if not part:
                continue
            if len(part) > max_len:
                message = ngettext(
                    "%(noun)s %(value)r… is longer than %(count)d character",
                    "%(noun)s %(value)r… is longer than %(count)d characters",
                    max_len,
                )
                raise ConditionError(
                    field, message % {"noun": _nouns(noun, nouns)[0], "value": part[:20], "count": max_len}
                )
            if part not in items:
                items.append(part)
    if not items:
        if required:
            raise ConditionError(field, _("pick at least one %(noun)s") % {"noun": _nouns(noun, nouns)[0]})
        return ()
    if len(items) > MAX_ITEMS:
        singular, plural = _nouns(noun, nouns)
        message = ngettext("at most %(count)d %(noun)s", "at most %(count)d %(nouns)s", MAX_ITEMS)
        raise ConditionError(field, message % {"count": MAX_ITEMS, "noun": singular, "nouns": plural})
    return tuple(items)


def choice_list(
    params: Mapping[str, Any],
    field: str,
    choices: Sequence[str],
    *,
    noun: str,
    nouns: str | None = None,
    required: bool = True,
) -> tuple[str, ...]:
    """A subset of `choices` (case-insensitive), in the order of `choices` so equal sets compare equal."""
    picked = {c.lower() for c in text_list(params, field, noun=noun, nouns=nouns, required=required, split_commas=True)}
    unknown = sorted(picked.difference(choices))
    if unknown:
        raise ConditionError(
            field,
            _("unknown %(noun)s %(value)r; choose from %(choices)s")
            % {"noun": _nouns(noun, nouns)[0], "value": unknown[0], "choices": ", ".join(choices)},
        )
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

    def not_a_number(value: Any) -> ConditionError:
        if integer:
            return ConditionError(field, _("expected a whole number, got %(value)r") % {"value": value})
        return ConditionError(field, _("expected a number, got %(value)r") % {"value": value})

    if isinstance(raw, bool):
        raise not_a_number(raw)
    if isinstance(raw, str):
        try:
            raw = float(raw.strip())
        except ValueError:
            raise not_a_number(raw) from None
    if not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise not_a_number(raw)
    if integer:
        if raw != int(raw):
            raise not_a_number(raw)
        value: Any = int(raw)
    else:
        value = int(raw) if isinstance(raw, int) or raw == int(raw) else float(raw)
    too_low = minimum is not None and value < minimum
    too_high = maximum is not None and value > maximum
    if (too_low or too_high) and minimum is not None and maximum is not None:
        raise ConditionError(
            field,
            _("must be between %(minimum)s and %(maximum)s")
            % {"minimum": fmt_number(minimum), "maximum": fmt_number(maximum)},
        )
    if too_low:
        raise ConditionError(field, _("must be at least %(minimum)s") % {"minimum": fmt_number(minimum)})
    if too_high:
        raise ConditionError(field, _("must be at most %(maximum)s") % {"maximum": fmt_number(maximum)})
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
        raise ConditionError(field, _("expected true or false, got %(value)r") % {"value": raw})
    return value


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
