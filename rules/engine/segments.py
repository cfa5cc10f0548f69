"""The InSegment condition: the visitor belongs to a segment (``segments``: a set of slugs)."""

from __future__ import annotations

import re

from .conditions import Condition, ConditionError, Outcome, register
from .context import Context
from .i18n import _, gettext_noop, quoted
from .params import is_blank

_SLUG = re.compile(r"^[-\w]+$")


@register
class InSegment(Condition):
    """The visitor belongs to the segment `segment` (its slug); `name` only words the reason."""

    type = "in_segment"
    label = gettext_noop("In segment")
    facts = ("segments",)

    def __init__(self, segment: str, name: str | None = None):
        self.segment, self.name = segment, name

    @classmethod
    def from_params(cls, params, registry=None):
        slug = params.get("segment")
        if not isinstance(slug, str) or not slug.strip():
            raise ConditionError("segment", _("choose a segment"))
        slug = slug.strip()
        if len(slug) > 255 or not _SLUG.match(slug):
            raise ConditionError("segment", _("%(slug)r is not a segment slug") % {"slug": slug[:40]})
        name = params.get("name")
        if is_blank(name):
            name = None
        elif not isinstance(name, str) or len(name) > 255:
            raise ConditionError("name", _("expected the segment's name (text, at most 255 characters)"))
        else:
            name = name.strip()
        return cls(slug, name)

    def to_params(self):
        params = {"segment": self.segment}
        if self.name:
            params["name"] = self.name
        return params

    def describe(self) -> str:
        return _("In segment %(segment)s") % {"segment": quoted(self.name or self.segment)}

    def evaluate(self, ctx: Context) -> Outcome:
        segments = ctx.get("segments")
        if isinstance(segments, str):
            segments = {segments}
        if not isinstance(segments, (set, frozenset, list, tuple)):
            return self.unknown(_("segments"))
        if self.segment in segments:
            return Outcome(True, self.describe())
        return Outcome(False, _("Not in segment %(segment)s") % {"segment": quoted(self.name or self.segment)})
