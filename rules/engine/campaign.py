"""Campaign conditions: how the visitor arrived (UTM parameters, referrer, query parameters).

Facts (shapes in `audience.py`'s table):

- ``utm``: ``{"source", "medium", "campaign", "term", "content"}`` -> lower-cased str. An empty dict
  means "known: no campaign parameters" (a parameter it lacks does not match); no ``utm`` fact at all
  means unknown.
- ``referrer``: a URL or a bare domain; ``""`` is a known direct visit.
- ``query``: ``{name: value}`` of the page's query parameters (a list value counts if any item does).

Reasons never repeat a visitor's free-form values (a referrer's path, a query value that did not
match): they may carry personal data, and reasons are shown and stored.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from .conditions import Condition, ConditionError, Outcome, outcome_by, outcome_by_own, register
from .context import Context
from .i18n import _, gettext_noop, quoted
from .params import MAX_TEXT, at_most_characters, expected_text, is_blank

UTM_KEYS = ("source", "medium", "campaign", "term", "content")
#: longer visitor values are evaluated every time rather than remembered (`outcome_by`)
_REMEMBERED_TEXT = 256


def _utm_value(params: Mapping[str, Any], key: str) -> str | None:
    raw = params.get(key)
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        raise ConditionError(key, expected_text(raw))
    value = raw.strip().lower()
    if len(value) > MAX_TEXT:
        raise ConditionError(key, at_most_characters(MAX_TEXT))
    if "*" in value[:-1]:
        raise ConditionError(key, _("'*' is allowed only at the end (it matches any ending)"))
    return value


def _utm_key(condition: Utm, ctx: Context) -> tuple | None:
    """What a Utm outcome depends on: the parameters it asks about (text or absent; None, not
    remembered, for other shapes)."""
    utm = ctx.get("utm")
    if type(utm) is not dict and not isinstance(utm, Mapping):
        return None
    key = tuple(utm.get(k) for k in condition.wanted)
    for value in key:
        if value is not None and (type(value) is not str or len(value) > _REMEMBERED_TEXT):
            return None
    return key


@register
class Utm(Condition):
    """Each given UTM parameter equals the value (case-insensitive); a trailing ``*`` matches a prefix.

    ``source``, ``medium`` and ``campaign`` (and ``term``, ``content``) are each optional; at least
    one is needed, and all given must match. ``"*"`` alone means "present with any value".
    """

    type = "utm"
    label = gettext_noop("Campaign (UTM)")
    facts = ("utm",)

    def __init__(self, wanted: Mapping[str, str]):
        self.wanted = {k: wanted[k] for k in UTM_KEYS if wanted.get(k)}
        if not self.wanted:
            raise ConditionError("source", _("give at least one of source, medium or campaign"))

    @classmethod
    def from_params(cls, params, registry=None):
        return cls({k: v for k in UTM_KEYS if (v := _utm_value(params, k)) is not None})

    def to_params(self):
        return dict(self.wanted)

    def describe(self) -> str:
        return _campaign(f"utm_{k}={v}" for k, v in self.wanted.items())

    @outcome_by_own(_utm_key)
    def evaluate(self, ctx: Context) -> Outcome:
        utm = ctx.get("utm")
        if not isinstance(utm, Mapping):
            return self.unknown(_("campaign parameters"))
        seen = []
        for key, want in self.wanted.items():
            actual = utm.get(key)
            actual = actual.strip().lower() if isinstance(actual, str) else ""
            if not actual:
                return Outcome(
                    False,
                    _("%(condition)s: no %(parameter)s") % {"condition": self.describe(), "parameter": f"utm_{key}"},
                )
            ok = actual.startswith(want[:-1]) if want.endswith("*") else actual == want
            if not ok:
                return Outcome(
                    False,
                    _("%(condition)s: %(parameter)s is %(value)s")
                    % {"condition": self.describe(), "parameter": f"utm_{key}", "value": actual[:80]},
                )
            seen.append(f"utm_{key}={actual[:80]}")
        return Outcome(True, _campaign(seen))


def _campaign(parameters: Iterable[str]) -> str:
    """The parameters as they are in the URL: "Campaign utm_source=newsletter, utm_medium=email"."""
    return _("Campaign %(parameters)s") % {"parameters": ", ".join(parameters)}


# --- referrer ------------------------------------------------------------------------------------

MAX_URL = 2048
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_HOST_GLOB = re.compile(r"^[\w.*?\[\]!-]+$")


def _ascii_host(host: str) -> str | None:
    """A host name in its ASCII (punycode) form, or None when it cannot be one."""
    try:
        return host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return None


@lru_cache(maxsize=2048)
def split_referrer(value: str) -> tuple[str, str]:
    """(the URL lower-cased, its host) for a referrer URL or a bare domain; host '' when none."""
    url = value.strip()[:MAX_URL].lower()
    if not url:
        return "", ""
    try:
        host = urlsplit(url if "//" in url else "//" + url).hostname or ""
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return url, ""
    return url, _ascii_host(host.rstrip(".")) or ""


@register
class Referrer(Condition):
    """The referrer matches `pattern`, one of three forms:

    - a domain, ``google.com``: that host and its subdomains (``www.google.com``, ``news.google.com``);
    - a host pattern with ``*`` / ``?`` wildcards, ``google.*``: the host only; ``*.example.com``
      also matches ``example.com`` itself;
    - a URL pattern (it contains ``/``), ``https://news.ycombinator.com/item*``: the whole URL,
      with or without its scheme.

    Matching is case-insensitive.
    """

    type = "referrer"
    label = gettext_noop("Referrer")
    facts = ("referrer",)

    def __init__(self, pattern: str):
        self.pattern = pattern
        if "/" in pattern:
            self.kind = "url"
        elif any(c in pattern for c in "*?["):
            self.kind = "host"
        else:
            self.kind = "domain"
        if self.kind != "domain":
            try:
                self._glob = re.compile(fnmatch.translate(pattern)).match
            except re.error as e:  # pragma: no cover - fnmatch escapes nearly everything
                raise ConditionError("pattern", _("invalid pattern: %(error)s") % {"error": e}) from None
            self._bare = (
                re.compile(fnmatch.translate(pattern[2:])).match
                if self.kind == "host" and pattern.startswith("*.")
                else None
            )

    @classmethod
    def from_params(cls, params, registry=None):
        raw = params.get("pattern")
        if not isinstance(raw, str) or not raw.strip():
            raise ConditionError("pattern", _("enter a domain such as google.com, or a pattern such as google.*"))
        pattern = raw.strip().lower()
        if len(pattern) > 500:
            raise ConditionError("pattern", at_most_characters(500))
        if any(c.isspace() or not c.isprintable() for c in pattern):
            raise ConditionError("pattern", _("a domain or URL pattern cannot contain spaces"))
        if "/" in pattern:
            return cls(pattern)
        if any(c in pattern for c in "*?["):
            if not _HOST_GLOB.match(pattern):
                raise ConditionError(
                    "pattern", _("%(pattern)r is not a host pattern such as *.google.com") % {"pattern": raw.strip()}
                )
            return cls(pattern)
        domain = _ascii_host(pattern.strip(".")) or ""
        labels = domain.split(".")
        if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
            raise ConditionError(
                "pattern",
                _("%(pattern)r is not a domain; use e.g. google.com (or google.* for any Google domain)")
                % {"pattern": raw.strip()},
            )
        return cls(domain)

    def to_params(self):
        return {"pattern": self.pattern}

    def describe(self) -> str:
        if self.kind == "domain":
            return _("Referred by %(site)s") % {"site": self.pattern}
        return _("Referrer matches %(pattern)s") % {"pattern": self.pattern}

    def _matches(self, url: str, host: str) -> bool:
        if self.kind == "domain":
            return bool(host) and (host == self.pattern or host.endswith("." + self.pattern))
        if self.kind == "host":
            return bool(host) and bool(self._glob(host) or (self._bare and self._bare(host)))
        without_scheme = url.split("://", 1)[1] if "://" in url else url
        return bool(self._glob(url) or self._glob(without_scheme))

    @outcome_by(lambda ctx: raw if type(raw := ctx.get("referrer")) is str and len(raw) <= _REMEMBERED_TEXT else None)
    def evaluate(self, ctx: Context) -> Outcome:
        raw = ctx.get("referrer")
        if not isinstance(raw, str):
            return self.unknown(_("referrer"))
        url, host = split_referrer(raw)
        if not url:
            return Outcome(False, _("%(condition)s: direct visit (no referrer)") % {"condition": self.describe()})
        where = host or _("an unknown site")
        if self._matches(url, host):
            return Outcome(True, _("Referred by %(site)s") % {"site": where})
        return Outcome(False, _("Referred by %(site)s, not %(pattern)s") % {"site": where, "pattern": self.pattern})


# --- query parameters ----------------------------------------------------------------------------

QUERY_OPERATORS = ("equals", "contains", "present")


@register
class QueryParam(Condition):
    """The page's query parameter `name` is present, equals `value`, or contains it (case-insensitive).

    `operator` defaults to ``equals`` when a value is given and ``present`` otherwise.
    """

    type = "query_param"
    label = gettext_noop("Query parameter")
    facts = ("query",)

    def __init__(self, name: str, operator: str = "present", value: str | None = None):
        self.name, self.operator, self.value = name, operator, value
        self._folded = value.casefold() if value is not None else None

    @classmethod
    def from_params(cls, params, registry=None):
        name = params.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConditionError("name", _("enter the query parameter's name, e.g. 'promo'"))
        name = name.strip()
        if len(name) > 100:
            raise ConditionError("name", at_most_characters(100))
        value = params.get("value")
        if is_blank(value):
            value = None
        elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConditionError("value", expected_text(value))
        else:
            value = str(value).strip()
            if len(value) > MAX_TEXT:
                raise ConditionError("value", at_most_characters(MAX_TEXT))
        operator = params.get("operator") or ("equals" if value is not None else "present")
        if operator not in QUERY_OPERATORS:
            raise ConditionError(
                "operator",
                _("unknown operator %(operator)r; choose from %(choices)s")
                % {"operator": operator, "choices": ", ".join(QUERY_OPERATORS)},
            )
        if operator == "present":
            value = None  # a value left in the form means nothing for "is present"
        elif value is None:
            if operator == "equals":
                raise ConditionError("value", _("enter the value the parameter equals (or choose 'is present')"))
            raise ConditionError("value", _("enter the value the parameter contains (or choose 'is present')"))
        return cls(name, operator, value)

    def to_params(self):
        params: dict[str, Any] = {"name": self.name, "operator": self.operator}
        if self.value is not None:
            params["value"] = self.value
        return params

    def describe(self) -> str:
        if self.operator == "present":
            return _("Query parameter %(name)s is present") % {"name": self.name}
        if self.operator == "equals":
            return _("Query %(name)s=%(value)s") % {"name": self.name, "value": self.value}
        return _("Query parameter %(name)s contains %(value)s") % {"name": self.name, "value": quoted(self.value or "")}

    def _value_ok(self, actual: Any) -> bool:
        if isinstance(actual, (list, tuple)):
            return any(self._value_ok(a) for a in actual)
        if actual is None:
            return False
        text = str(actual).casefold()
        return text == self._folded if self.operator == "equals" else self._folded in text  # type: ignore[operator]

    def evaluate(self, ctx: Context) -> Outcome:
        query = ctx.get("query")
        if not isinstance(query, Mapping):
            return self.unknown(_("query parameters"))
        if self.name not in query:
            return Outcome(
                False, _("%(condition)s: no %(name)s parameter") % {"condition": self.describe(), "name": self.name}
            )
        if self.operator == "present" or self._value_ok(query[self.name]):
            return Outcome(True, self.describe())
        return Outcome(
            False, _("%(condition)s: %(name)s has another value") % {"condition": self.describe(), "name": self.name}
        )
