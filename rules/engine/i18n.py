"""Translation hook for the words the engine shows: plain Python, no Django.

Strings an editor or a visitor reads (reasons, descriptions, labels) are marked in the engine with
`_()` (translated when the reason is made) or `gettext_noop()` (a label in a table, translated where
it is shown). With no translator installed they come out as written, in English, which is what the
engine's own tests and benchmarks see. The Django apps install Django's `gettext` at start-up
(`rules.apps`), so reasons follow the request's active language, and `makemessages` finds every
marked string because the markers carry gettext's own names.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

_translator: Callable[[str], str] | None = None


def set_translator(gettext: Callable[[str], str] | None) -> None:
    """Install the function that translates marked strings (None: leave them as written)."""
    global _translator
    _translator = gettext


def gettext(message: str) -> str:
    return message if _translator is None else _translator(message)


def gettext_noop(message: str) -> str:
    """Marks a string for translation without translating it (labels in tables)."""
    return message


_ = gettext


# --- wording shared by the conditions' reasons ----------------------------------------------------


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
