"""Reading condition parameters: the helpers every condition type's `from_params` shares.

Each validates one parameter of a spec and raises `ConditionError(field, message)` naming it, so an
editor sees the message at the right field. Numeric strings and comma-separated text are accepted
because form inputs send them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from .conditions import ConditionError
from .i18n import fmt_number

#: most entries a list parameter may hold (a condition is not a database)
MAX_ITEMS = 100
MAX_TEXT = 200


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
