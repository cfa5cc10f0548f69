"""A pseudo-locale for tests: every marked string comes back visibly "translated".

`pseudo` turns each letter of a message into its full-width twin ("Rainy" -> "Ｒａｉｎｙ") and keeps
the placeholders (``%(name)s``) and HTML tags, so text that went through gettext holds no ASCII word of its own:
an ASCII word left in visible text is either data the test inserted or English that nobody marked
(`unmarked_words`). Plain Python, so the engine's tests use it without Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# kept as they are: placeholders, and the HTML tags of a template's {% blocktranslate %}
_KEPT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs%]|<[^<>]*>")
_WORD = re.compile(r"[A-Za-z][A-Za-z_]+")


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalpha() else c for c in text)


def pseudo(message: str) -> str:
    """`message` "translated": letters outside placeholders and HTML tags become full-width."""
    out, last = [], 0
    for m in _KEPT.finditer(message):
        out += [_full_width(message[last : m.start()]), m.group()]
        last = m.end()
    return "".join(out) + _full_width(message[last:])


def unmarked_words(text: str, data: Iterable[str] = ()) -> list[str]:
    """ASCII words in `text` that are not `data`: English that did not go through gettext."""
    return sorted(set(_WORD.findall(text)) - set(data))
