"""The Language condition: the visitor's preferred languages (``language``: BCP-47 tags by preference)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .conditions import Condition, ConditionError, Outcome, outcome_by, register
from .context import Context
from .i18n import _, gettext_noop, join_or, ordinal
from .params import bool_param, text_list

_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{1,8})*$")


def canonical_language(tag: str) -> str | None:
    """'EN_gb' -> 'en-GB', 'zh-hant-tw' -> 'zh-Hant-TW'; None when it is not a language tag."""
    if not isinstance(tag, str):
        return None
    text = tag.strip().replace("_", "-").lower()
    if len(text) > 35 or not _LANGUAGE_TAG.match(text):
        return None
    parts = text.split("-")
    out = [parts[0]]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())  # script
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())  # region
        else:
            out.append(part)
    return "-".join(out)


def language_matches(visitor_tag: str, wanted: str) -> bool:
    """Prefix match on whole subtags: 'en' matches 'en-GB'; 'en-GB' does not match 'en' or 'eng'."""
    v, w = visitor_tag.lower(), wanted.lower()
    return v == w or v.startswith(w + "-")


def _language_key(ctx: Context) -> tuple | str | None:
    """What a Language outcome depends on: the visitor's tags as sent."""
    raw = ctx.get("language")
    if isinstance(raw, str):
        return raw
    if isinstance(raw, tuple) and all(isinstance(tag, str) for tag in raw):
        return raw
    return None


@register
class Language(Condition):
    """The visitor's first language (or, with `any_preferred`, any accepted one) matches a tag prefix."""

    type = "language"
    label = gettext_noop("Language")
    facts = ("language",)

    def __init__(self, languages: Sequence[str], any_preferred: bool = False):
        self.languages = tuple(languages)
        self.any_preferred = any_preferred

    @classmethod
    def from_params(cls, params, registry=None):
        tags = []
        languages = text_list(
            params,
            "languages",
            noun=gettext_noop("language"),
            nouns=gettext_noop("languages"),
            split_commas=True,
            max_len=35,
        )
        for raw in languages:
            tag = canonical_language(raw)
            if tag is None:
                raise ConditionError(
                    "languages", _("%(tag)r is not a language tag; use e.g. 'ko', 'en-GB'") % {"tag": raw}
                )
            if tag not in tags:
                tags.append(tag)
        return cls(tags, bool_param(params, "any_preferred", default=False))

    def to_params(self):
        return {"languages": list(self.languages), "any_preferred": self.any_preferred}

    def describe(self) -> str:
        if self.any_preferred:
            return _("Accepts language %(languages)s") % {"languages": join_or(self.languages)}
        return _("Language is %(languages)s") % {"languages": join_or(self.languages)}

    @outcome_by(_language_key)
    def evaluate(self, ctx: Context) -> Outcome:
        raw = ctx.get("language")
        if isinstance(raw, str):
            raw = (raw,)
        if not isinstance(raw, (list, tuple)):
            return self.unknown(_("language"))
        tags = [t for t in (canonical_language(x) for x in raw[:20]) if t]
        if not tags:
            return self.unknown(_("language"))
        considered = tags if self.any_preferred else tags[:1]
        for i, tag in enumerate(considered):
            if any(language_matches(tag, w) for w in self.languages):
                if i == 0:
                    return Outcome(True, _("Language %(tag)s") % {"tag": tag})
                return Outcome(
                    True, _("Accepts %(tag)s (%(ordinal)s preference)") % {"tag": tag, "ordinal": ordinal(i + 1)}
                )
        wanted = join_or(self.languages)
        if self.any_preferred:
            shown = ", ".join(tags[:3]) + (", …" if len(tags) > 3 else "")
            return Outcome(False, _("Accepts %(tags)s, not %(languages)s") % {"tags": shown, "languages": wanted})
        return Outcome(False, _("Language %(tag)s, not %(languages)s") % {"tag": tags[0], "languages": wanted})
