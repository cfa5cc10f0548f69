"""Translation hook for the words the engine shows: plain Python, no Django.

Strings an editor or a visitor reads (reasons, descriptions, labels, validation messages) are marked
in the engine with `_()` / `gettext()` (translated when the text is made), `ngettext()` (a count),
`pgettext()` (a short word whose meaning needs a context, e.g. ``pgettext("weather", "clear")``) or
`gettext_noop()` (a label in a table, translated where it is shown). Sentences are whole patterns
with named placeholders (``_("%(observed)s, not %(wanted)s") % {...}``), never pieces glued together,
so a translator can reorder them.

With no translator installed they come out as written, in English, which is what the engine's own
tests and benchmarks see. The Django apps install Django's functions at start-up (`rules.apps`), so
text follows the request's active language, and `makemessages` finds every marked string because
the markers carry gettext's own names (xgettext's default keywords for Python plus the ones Django
adds: ``gettext_noop``, ``pgettext:1c,2``).

Text is translated when it is asked for, never when a condition is built: compiled conditions are
cached and shared by requests in every language.

Django's `gettext` costs about ten microseconds a call (it finds the active language in a
context-local, then searches each app's catalogue), and deciding a page words hundreds of reasons.
So code that words many of them does it inside `remembering()`: the active language is read once,
and each string is translated once per language and process (catalogues do not change while a
process runs; `clear_memo()` forgets, for tests and settings changes).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from functools import wraps

_translator: Callable[[str], str] | None = None
_plural_translator: Callable[[str, str, int], str] | None = None
_context_translator: Callable[[str, str], str] | None = None
_language: Callable[[], str | None] | None = None

#: language -> {message or (context, message): translation}
_memo: dict[str | None, dict[object, str]] = {}
#: the current `remembering()` block's table (None outside one)
_table: ContextVar[dict[object, str] | None] = ContextVar("tailor_i18n_table", default=None)
#: the current `remembering()` block's language (`_OUTSIDE` outside one)
_OUTSIDE = object()
_block_language: ContextVar[object] = ContextVar("tailor_i18n_language", default=_OUTSIDE)
#: a table is emptied when it grows past this (only marked strings are remembered, so it should not)
_MAX_REMEMBERED = 5000


def set_translator(
    gettext: Callable[[str], str] | None,
    ngettext: Callable[[str, str, int], str] | None = None,
    pgettext: Callable[[str, str], str] | None = None,
    language: Callable[[], str | None] | None = None,
) -> None:
    """Install the functions that translate marked strings (None: leave them as written).

    Without `ngettext`, counts choose the English form and pass it to `gettext`; without `pgettext`,
    the context is dropped and the word goes to `gettext` (so a bare translator, such as a test's
    pseudo-locale, still sees every string). `language` names the active language; without it
    `remembering()` remembers nothing.
    """
    global _translator, _plural_translator, _context_translator, _language
    _translator = gettext
    _plural_translator = ngettext if gettext is not None else None
    _context_translator = pgettext if gettext is not None else None
    _language = language if gettext is not None else None
    clear_memo()


#: bumped whenever translations are installed or forgotten, so texts remembered on objects expire
_generation = 0


#: what `wording()` answers with no translator installed (made once per generation, not per call)
_plain_wording: tuple[int, str | None] = (0, None)


def clear_memo() -> None:
    """Forget remembered translations (a test changed the catalogues, or the language settings changed)."""
    global _generation, _plain_wording
    _memo.clear()
    _generation += 1
    _plain_wording = (_generation, None)


class _Remembering:
    """One `remembering()` block that installs a table (a class, not a generator: it is entered on
    every decision)."""

    __slots__ = ("_tokens",)

    def __enter__(self) -> None:
        language = _language()  # type: ignore[misc]
        table = _memo.setdefault(language, {})
        if len(table) > _MAX_REMEMBERED:
            table.clear()
        self._tokens = (_table.set(table), _block_language.set(language))

    def __exit__(self, *exc: object) -> None:
        table_token, language_token = self._tokens
        _block_language.reset(language_token)
        _table.reset(table_token)


class _Nothing:
    """A `remembering()` block with nothing to do (no translator, or already inside a block)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


_NOTHING = _Nothing()


def remembering() -> AbstractContextManager[None]:
    """Within the block, each string is translated once per language (the language is read once:
    do not switch languages inside it)."""
    if _translator is None or _language is None or _table.get() is not None:
        return _NOTHING
    return _Remembering()


def current_language() -> str | None:
    """The language texts are worded in now (None: no translator, English as written)."""
    if _translator is None or _language is None:
        return None
    language = _block_language.get()
    return _language() if language is _OUTSIDE else language  # type: ignore[return-value]


def wording() -> tuple[int, str | None]:
    """What a remembered text depends on besides its own inputs: the translations installed and the
    active language."""
    if _translator is None:
        return _plain_wording
    return (_generation, current_language())


def per_language(method: Callable[..., str]) -> Callable[..., str]:
    """Remember what a method of an immutable object words, once per language and arguments.

    For descriptions of compiled conditions: they are asked for on every evaluation, cost string
    formatting and translation each time, and never change for one language.
    """
    name = method.__name__

    @wraps(method)
    def remembered(self, *args, **kwargs):
        memo = self.__dict__.get("_worded")
        if memo is None:
            memo = self.__dict__["_worded"] = {}
        key = (name, wording(), args, tuple(kwargs.items()) if kwargs else ()) if args or kwargs else (name, wording())
        text = memo.get(key)
        if text is None:
            text = memo[key] = method(self, *args, **kwargs)
        return text

    return remembered


def gettext(message: str) -> str:
    if _translator is None:
        return message
    table = _table.get()
    if table is None:
        return _translator(message)
    text = table.get(message)
    if text is None:
        text = table[message] = _translator(message)
    return text


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural pattern for the count `n`, translated (fill in the count yourself)."""
    if _plural_translator is not None:
        return _plural_translator(singular, plural, n)
    return gettext(singular if n == 1 else plural)


def pgettext(context: str, message: str) -> str:
    """`message` translated in `context` (a short word that means different things elsewhere)."""
    if _context_translator is None:
        return gettext(message)
    table = _table.get()
    if table is None:
        return _context_translator(context, message)
    key = (context, message)
    text = table.get(key)
    if text is None:
        text = table[key] = _context_translator(context, message)
    return text


def gettext_noop(message: str) -> str:
    """Marks a string for translation without translating it (labels in tables)."""
    return message


_ = gettext


# --- wording shared by the conditions' reasons ----------------------------------------------------


def fmt_number(value: float) -> str:
    """12 -> '12', 12.5 -> '12.5' (no trailing '.0' in editors' words)."""
    return f"{value:g}" if isinstance(value, float) else str(value)


def list_separator() -> str:
    # Translators: between the items of a list, "a, b or c".
    return _(", ")


def join_or(items: Sequence[str], limit: int = 5) -> str:
    """'a', 'a or b', 'a, b or c'; long lists end with '… or 3 more'."""
    items = list(items)
    sep = list_separator()
    if len(items) > limit:
        more = len(items) - limit
        return ngettext("%(items)s or %(count)d more", "%(items)s or %(count)d more", more) % {
            "items": sep.join(items[:limit]),
            "count": more,
        }
    if len(items) <= 1:
        return "".join(items)
    # Translators: the last alternative of a list, "a, b or c"; also chains phrases, "x or y or z".
    return _("%(rest)s or %(last)s") % {"rest": sep.join(items[:-1]), "last": items[-1]}


def join_and(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    # Translators: the last item of a list, "a, b and c"; also chains requirements, "x and y and z".
    return _("%(rest)s and %(last)s") % {"rest": list_separator().join(items[:-1]), "last": items[-1]}


def chain_or(items: Sequence[str]) -> str:
    """'a or b or c': alternatives that are themselves phrases (no commas between them)."""
    text = items[0] if items else ""
    for item in items[1:]:
        text = _("%(rest)s or %(last)s") % {"rest": text, "last": item}
    return text


def chain_and(items: Sequence[str]) -> str:
    """'a and b and c': requirements that are themselves phrases (no commas between them)."""
    text = items[0] if items else ""
    for item in items[1:]:
        text = _("%(rest)s and %(last)s") % {"rest": text, "last": item}
    return text


def quoted(text: str) -> str:
    # Translators: quotation marks around a value the editor typed, “summer sale”.
    return _("“%(text)s”") % {"text": text}


def ordinal(n: int) -> str:
    """'1st', '2nd', '3rd', '11th'. Languages without English's endings translate all four the same."""
    last = n % 10
    if 10 <= n % 100 <= 20 or last not in (1, 2, 3):
        # Translators: an ordinal, "4th", "11th". Translate "%(n)dst", "%(n)dnd" and "%(n)drd" the same
        # way when your language's ordinals do not depend on the number's last digit ("%(n)d번째").
        pattern = _("%(n)dth")
    elif last == 1:
        # Translators: an ordinal, "1st", "21st" (see "%(n)dth").
        pattern = _("%(n)dst")
    elif last == 2:
        # Translators: an ordinal, "2nd", "22nd" (see "%(n)dth").
        pattern = _("%(n)dnd")
    else:
        # Translators: an ordinal, "3rd", "23rd" (see "%(n)dth").
        pattern = _("%(n)drd")
    return pattern % {"n": n}


def lower_first(text: str) -> str:
    """A description placed mid-sentence ("…; wants visit 3 or later"); no change in caseless scripts."""
    return text[:1].lower() + text[1:]
