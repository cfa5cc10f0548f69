"""Build the engine `Context` for one request.

Precedence (DESIGN.md): the explicit `context` input of the API call, then request headers, then
providers, then the visitor profile (consented only); the server's clock fills `now` last. Every fact
keeps its source so `personalizedPage.context` can echo what was used and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cms.settings import tailor_settings
from rules.engine import Context, Fact, InvalidContext, get_zone
from rules.engine.context import SOURCE_INPUT, SOURCE_SERVER, utcnow

# Bounds on `now`: a preview may look a few years ahead or back, not centuries.
MIN_YEAR, MAX_YEAR = 2000, 2100


def _input_facts(data: Mapping[str, Any]) -> list[Fact]:
    facts: list[Fact] = []
    tz = data.get("timezone")
    if tz is not None:
        get_zone(tz)  # raises InvalidContext("timezone", ...)
        facts.append(Fact("timezone", tz, SOURCE_INPUT))
    now = data.get("now")
    if now is not None:
        if not isinstance(now, datetime):
            raise InvalidContext("now", f"expected an ISO 8601 date-time, got {now!r}")
        if not (MIN_YEAR <= now.year <= MAX_YEAR):
            raise InvalidContext("now", f"year {now.year} is outside {MIN_YEAR}-{MAX_YEAR}")
        facts.append(Fact("now", now, SOURCE_INPUT))
    return facts


def _server_facts() -> list[Fact]:
    facts = [Fact("now", utcnow(), SOURCE_SERVER)]
    default_tz = tailor_settings.DEFAULT_TIMEZONE
    if default_tz:
        facts.append(Fact("timezone", default_tz, SOURCE_SERVER, "TAILOR['DEFAULT_TIMEZONE']"))
    return facts


def build_context(request, data: Mapping[str, Any] | None = None) -> Context:
    """The context for `request` given the API's `context` input; raises InvalidContext."""
    layers = [_input_facts(data or {}), _server_facts()]
    facts: dict[str, Fact] = {}
    for layer in layers:  # earlier layers win
        for fact in layer:
            facts.setdefault(fact.name, fact)
    return Context(facts)
