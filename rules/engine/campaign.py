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
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from .conditions import Condition, ConditionError, Outcome, register
from .context import Context
from .i18n import quoted
from .params import MAX_TEXT, is_blank

UTM_KEYS = ("source", "medium", "campaign", "term", "content")


def _utm_value(params: Mapping[str, Any], key: str) -> str | None:
    raw = params.get(key)
    if is_blank(raw):
        return None
    if not isinstance(raw, str):
        raise ConditionError(key, f"expected text, got {raw!r}")
    value = raw.strip().lower()
    if len(value) > MAX_TEXT:
        raise ConditionError(key, f"at most {MAX_TEXT} characters")
    if "*" in value[:-1]:
        raise ConditionError(key, "'*' is allowed only at the end (it matches any ending)")
    return value


@register
class Utm(Condition):
    """Each given UTM parameter equals the value (case-insensitive); a trailing ``*`` matches a prefix.

    ``source``, ``medium`` and ``campaign`` (and ``term``, ``content``) are each optional; at least
    one is needed, and all given must match. ``"*"`` alone means "present with any value".
    """

    type = "utm"
    label = "Campaign (UTM)"
    facts = ("utm",)

    def __init__(self, wanted: Mapping[str, str]):
        self.wanted = {k: wanted[k] for k in UTM_KEYS if wanted.get(k)}
        if not self.wanted:
            raise ConditionError("source", "give at least one of source, medium or campaign")

    @classmethod
    def from_params(cls, params, registry=None):
        return cls({k: v for k in UTM_KEYS if (v := _utm_value(params, k)) is not None})

    def to_params(self):
        return dict(self.wanted)

    def describe(self) -> str:
        return "Campaign " + ", ".join(f"utm_{k}={v}" for k, v in self.wanted.items())

    def evaluate(self, ctx: Context) -> Outcome:
        utm = ctx.get("utm")
        if not isinstance(utm, Mapping):
            return self.unknown("campaign parameters")
        seen = []
        for key, want in self.wanted.items():
            actual = utm.get(key)
            actual = actual.strip().lower() if isinstance(actual, str) else ""
            if not actual:
                return Outcome(False, f"{self.describe()}: no utm_{key}")
            ok = actual.startswith(want[:-1]) if want.endswith("*") else actual == want
            if not ok:
                return Outcome(False, f"{self.describe()}: utm_{key} is {actual[:80]}")
            seen.append(f"utm_{key}={actual[:80]}")
        return Outcome(True, "Campaign " + ", ".join(seen))


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
    label = "Referrer"
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
                raise ConditionError("pattern", f"invalid pattern: {e}") from None
            self._bare = (
                re.compile(fnmatch.translate(pattern[2:])).match
                if self.kind == "host" and pattern.startswith("*.")
                else None
            )

    @classmethod
    def from_params(cls, params, registry=None):
        raw = params.get("pattern")
        if not isinstance(raw, str) or not raw.strip():
            raise ConditionError("pattern", "enter a domain such as google.com, or a pattern such as google.*")
        pattern = raw.strip().lower()
        if len(pattern) > 500:
            raise ConditionError("pattern", "at most 500 characters")
        if any(c.isspace() or not c.isprintable() for c in pattern):
            raise ConditionError("pattern", "a domain or URL pattern cannot contain spaces")
        if "/" in pattern:
            return cls(pattern)
        if any(c in pattern for c in "*?["):
            if not _HOST_GLOB.match(pattern):
                raise ConditionError("pattern", f"{raw.strip()!r} is not a host pattern such as *.google.com")
            return cls(pattern)
        domain = _ascii_host(pattern.strip(".")) or ""
        labels = domain.split(".")
        if len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
            raise ConditionError(
                "pattern",
                f"{raw.strip()!r} is not a domain; use e.g. google.com (or google.* for any Google domain)",
            )
        return cls(domain)

    def to_params(self):
        return {"pattern": self.pattern}

    def describe(self) -> str:
        if self.kind == "domain":
            return f"Referred by {self.pattern}"
        return f"Referrer matches {self.pattern}"

    def _matches(self, url: str, host: str) -> bool:
        if self.kind == "domain":
            return bool(host) and (host == self.pattern or host.endswith("." + self.pattern))
        if self.kind == "host":
            return bool(host) and bool(self._glob(host) or (self._bare and self._bare(host)))
        without_scheme = url.split("://", 1)[1] if "://" in url else url
        return bool(self._glob(url) or self._glob(without_scheme))

    def evaluate(self, ctx: Context) -> Outcome:
        raw = ctx.get("referrer")
        if not isinstance(raw, str):
            return self.unknown("referrer")
        url, host = split_referrer(raw)
        if not url:
            return Outcome(False, f"{self.describe()}: direct visit (no referrer)")
        where = host or "an unknown site"
        if self._matches(url, host):
            return Outcome(True, f"Referred by {where}")
        return Outcome(False, f"Referred by {where}, not {self.pattern}")


# --- query parameters ----------------------------------------------------------------------------

QUERY_OPERATORS = ("equals", "contains", "present")


@register
class QueryParam(Condition):
    """The page's query parameter `name` is present, equals `value`, or contains it (case-insensitive).

    `operator` defaults to ``equals`` when a value is given and ``present`` otherwise.
    """

    type = "query_param"
    label = "Query parameter"
    facts = ("query",)

    def __init__(self, name: str, operator: str = "present", value: str | None = None):
        self.name, self.operator, self.value = name, operator, value
        self._folded = value.casefold() if value is not None else None

    @classmethod
    def from_params(cls, params, registry=None):
        name = params.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConditionError("name", "enter the query parameter's name, e.g. 'promo'")
        name = name.strip()
        if len(name) > 100:
            raise ConditionError("name", "at most 100 characters")
        value = params.get("value")
        if is_blank(value):
            value = None
        elif isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ConditionError("value", f"expected text, got {value!r}")
        else:
            value = str(value).strip()
            if len(value) > MAX_TEXT:
                raise ConditionError("value", f"at most {MAX_TEXT} characters")
        operator = params.get("operator") or ("equals" if value is not None else "present")
        if operator not in QUERY_OPERATORS:
            raise ConditionError("operator", f"unknown operator {operator!r}; choose from {', '.join(QUERY_OPERATORS)}")
        if operator == "present":
            value = None  # a value left in the form means nothing for "is present"
        elif value is None:
            raise ConditionError("value", f"enter the value the parameter {operator} (or choose 'is present')")
        return cls(name, operator, value)

    def to_params(self):
        params: dict[str, Any] = {"name": self.name, "operator": self.operator}
        if self.value is not None:
            params["value"] = self.value
        return params

    def describe(self) -> str:
        if self.operator == "present":
            return f"Query parameter {self.name} is present"
        if self.operator == "equals":
            return f"Query {self.name}={self.value}"
        return f"Query parameter {self.name} contains {quoted(self.value or '')}"

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
            return self.unknown("query parameters")
        if self.name not in query:
            return Outcome(False, f"{self.describe()}: no {self.name} parameter")
        if self.operator == "present" or self._value_ok(query[self.name]):
            return Outcome(True, self.describe())
        return Outcome(False, f"{self.describe()}: {self.name} has another value")
