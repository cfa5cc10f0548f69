"""Build the engine `Context` for one request.

Precedence (DESIGN.md): the explicit `context` input of the API call, then request headers, then
providers, then the visitor profile (consented only); the server's clock fills `now` last. Every fact
keeps its source so `personalizedPage.context` can echo what was used.

Two steps, so that slow providers run only when a page needs them:

1. `build_request_context(request, data)` validates the input and reads the headers (cheap, no I/O);
   invalid input raises `InvalidContext` naming the field.
2. `enrich(rc, needed)` adds provider facts (weather, emotion) for the facts the page's conditions
   read, the consented profile (recording this page view), and the visitor's segments.

Never kept: the raw text signal (it only feeds the classifier), the raw User-Agent (only its device
class), the IP address (never read), coordinates (only their 0.1° weather cell leaves the process).

The layers live apart, one concept each: `rules.context_input` (the explicit input),
`rules.context_headers`, `rules.context_consent` and `rules.context_providers`; this module puts them
together (and the profile and segments) and is what the rest of Tailor imports.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.utils.translation import get_supported_language_variant
from django.utils.translation import gettext as _

from rules.context_consent import Consent, resolve_consent
from rules.context_headers import parse_headers
from rules.context_input import parse_input
from rules.context_providers import provider_facts
from rules.engine import Context, Fact
from rules.engine.context import SOURCE_PROFILE, SOURCE_SERVER, utcnow
from rules.journeys import journey_facts, record_journey_view, stage_facts
from rules.profiles import Profile, profile_store, section_of
from rules.segments import SegmentIndex, segment_index
from tailor.settings import tailor_settings

__all__ = ["Consent", "RequestContext", "build_request_context", "enrich", "resolve_consent", "visitor_language"]

logger = logging.getLogger("tailor.context")


@dataclass
class RequestContext:
    """The validated request: its facts so far, plus what must not become a fact."""

    ctx: Context
    consent: Consent
    visitor_id: str | None = None
    path: str | None = None
    # Private signals: used by providers, never echoed, stored or logged.
    text: str | None = field(default=None, repr=False)
    coordinates: tuple[float, float] | None = field(default=None, repr=False)
    weather_sent: bool = False
    profile: Any = None
    #: the page being viewed, for the consented journey (`rules.journeys.describe_page`)
    page_id: int | None = None
    page_section: str | None = None
    page_kind: str | None = None


def build_request_context(
    request,
    data: Mapping[str, Any] | None = None,
    *,
    visitor_id: str | None = None,
    path: str | None = None,
    profile=None,
) -> RequestContext:
    """Validate the input and read the headers; raises InvalidContext naming the field.

    `profile` is the visitor's stored profile, if any: it carries the consent they gave.
    """
    data = data or {}
    stored = Consent(profile.consent_personalization, profile.consent_analytics, "stored") if profile else None
    rc = RequestContext(Context(), resolve_consent(request, data, stored), visitor_id, path, profile=profile)
    given = parse_input(data)
    headers = parse_headers(request)
    rc.text, rc.weather_sent = given.text, given.weather_sent
    rc.coordinates = given.coordinates or headers.coordinates
    facts: dict[str, Fact] = {}
    for layer in (given.facts, headers.facts, _server_facts()):
        for fact in layer:  # earlier layers win
            facts.setdefault(fact.name, fact)
    rc.ctx = Context(facts)
    return rc


#: the language of a visitor who states none the site speaks
VISITOR_FALLBACK_LANGUAGE = "en"


def visitor_language(ctx: Context) -> str:
    """The language a visitor reads reasons in: the first of their languages (``context.language``,
    else the forwarded or the request's Accept-Language) that the site's ``LANGUAGES`` offers
    (``ko-KR`` finds ``ko``); English otherwise."""
    for tag in ctx.get("language") or ():
        try:
            return get_supported_language_variant(tag.lower())
        except LookupError:
            continue
    return VISITOR_FALLBACK_LANGUAGE


def _server_facts() -> list[Fact]:
    facts = [Fact("now", utcnow(), SOURCE_SERVER)]
    default_tz = tailor_settings.DEFAULT_TIMEZONE
    if default_tz:
        facts.append(Fact("timezone", default_tz, SOURCE_SERVER, "TAILOR['DEFAULT_TIMEZONE']"))
    return facts


# --- profile and segments -----------------------------------------------------------------------


def _profile_facts(rc: RequestContext, record_view: bool) -> list[Fact]:
    if not (rc.consent.personalization and rc.visitor_id):
        return []
    store = profile_store()
    try:
        profile = rc.profile or store.get(rc.visitor_id) or Profile(rc.visitor_id)
        if record_view:
            local = rc.ctx.local_now()
            profile.consent_personalization = True
            profile.consent_analytics = rc.consent.analytics
            profile.record_view(
                now=utcnow(),  # the real clock: a previewed `now` must not rewrite visit history
                path=rc.path,
                device=rc.ctx.get("device"),
                local_hour=local.hour if local else None,
            )
            record_journey_view(
                profile,
                rc.ctx,
                now=utcnow(),
                page_id=rc.page_id,
                section=rc.page_section or section_of(rc.path or ""),
                kind=rc.page_kind,
            )
            store.save(profile)
    except Exception:  # a broken profile store must not break the page: the profile is unknown
        logger.warning("visitor profile store unavailable", exc_info=True)
        return []
    if profile.visit_count < 1:
        return []
    facts = [
        Fact("visit_count", profile.visit_count, SOURCE_PROFILE),
        Fact("returning", profile.visit_count > 1, SOURCE_PROFILE),
    ]
    if profile.first_seen:
        facts.append(Fact("first_seen", datetime.fromisoformat(profile.first_seen), SOURCE_PROFILE))
    rc.profile = profile
    return facts


def enrich(
    rc: RequestContext, needed: frozenset[str], *, record_view: bool = True, index: SegmentIndex | None = None
) -> Context:
    """Add provider facts the page needs, the consented profile and segments; returns the context."""
    if index is None:  # a caller that compiled the page passes the index it used: one version check
        index = segment_index()
    if rc.consent.personalization:
        needed = needed | index.facts
    extra = provider_facts(
        rc.ctx, needed, coordinates=rc.coordinates, text=rc.text, personalization=rc.consent.personalization
    ) + _profile_facts(rc, record_view)
    ctx = rc.ctx.with_facts(*[f for f in extra if f.name not in rc.ctx or rc.ctx.fact(f.name).source == SOURCE_SERVER])
    if rc.consent.personalization:  # the journey and its predictions: consented profiles only
        ctx = ctx.with_facts(*journey_facts(rc.profile, needed, ctx))
    if rc.consent.personalization and "segments" not in ctx:
        members = index.members(ctx, rc.profile)
        ctx = ctx.with_facts(Fact("segments", members, "segments", _("segment rules")))
    if rc.consent.personalization:
        ctx = ctx.with_facts(*stage_facts(ctx))
    rc.ctx = ctx
    return ctx
