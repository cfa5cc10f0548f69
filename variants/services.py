"""Service functions: the one way the API, the admin and commands reach the decision engine."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

from rules.context_builder import Consent, RequestContext, enrich
from rules.engine import Context
from rules.journeys import describe_page
from rules.segments import SegmentIndex, profile_and_version, segment_index
from variants.compiler import CompiledPage, compile_page, compiled_page
from variants.engine import Decision, decide
from variants.engine.contextual import UNKNOWN, attribute_value
from variants.engine.decide import WEIGHTED_POLICIES
from variants.engine.vocabulary import BREAKDOWN_MAX_SEGMENTS
from variants.feedback import Feedback, feedback
from variants.tokens import sign_decision


@dataclass
class PagePersonalization:
    page: object
    compiled: CompiledPage
    context: Context
    decisions: list[Decision]
    tokens: dict[str, str] = field(default_factory=dict)
    visitor_id: str | None = None
    consent: Consent | None = None

    def decision_for(self, slot_id: str) -> Decision | None:
        for d in self.decisions:
            if d.slot_id == slot_id:
                return d
        return None

    @property
    def facts_used(self) -> list[str]:
        return sorted(frozenset().union(*(d.facts for d in self.decisions)))

    @property
    def cache_key(self) -> str:
        """Names the decision bucket: the page, its revision and the variant each slot shows. Two
        visitors with the same key were shown the same content; it holds no visitor id, token or clock.
        Short (under 40 characters) so it fits a CDN's or Next.js's cache tag."""
        revision = self.compiled.revision[0] if self.compiled.revision else None
        chosen = ";".join(sorted(f"{d.slot_id}={d.variant_id}" for d in self.decisions))
        digest = base64.b32encode(hashlib.blake2b(chosen.encode(), digest_size=10).digest()).decode().lower()
        return f"tailor:{self.compiled.page_id}:{revision or 0}:{digest}"


def as_request_context(ctx: Context | RequestContext) -> RequestContext:
    if isinstance(ctx, RequestContext):
        return ctx
    return RequestContext(ctx, Consent(False, False, "default"))


def personalize_page(
    page,
    rc: RequestContext | Context,
    *,
    preview: bool = False,
    record_visit: bool = True,
    loop: Feedback | None = None,
) -> PagePersonalization:
    """Decide every slot of `page` for the request. Deciding runs no SQL (slots are compiled once
    per revision); providers run only for the facts the page's conditions read.

    `preview` compiles the page as given (unsaved content), explains every variant, records no page
    view and signs no tokens, so a preview can never be counted as an impression. `record_visit=False`
    decides without counting a page view (a frontend's prefetch, refresh or middleware call).
    """
    # One segment index for the whole request: the page is compiled against the same segments the
    # context is matched with, and the shared rules version is checked once (one Redis read).
    index = segment_index()
    compiled = compile_page(page, index) if preview else compiled_page(page, index)
    return personalize_compiled(
        compiled, rc, page=page, preview=preview, record_visit=record_visit, loop=loop, index=index
    )


def personalize_compiled(
    compiled: CompiledPage,
    rc: RequestContext | Context,
    *,
    page=None,
    preview: bool = False,
    record_visit: bool = True,
    loop: Feedback | None = None,
    index: SegmentIndex | None = None,
) -> PagePersonalization:
    """`personalize_page` for an already compiled page (the simulator decides synthetic slots here).

    Learning slots (AB / BANDIT / CONTEXTUAL) take their weights from the process's feedback loop
    (`loop`, default `variants.feedback.feedback()`), refreshed first if older than
    STATS_REFRESH_SECONDS: at most one stats store round trip for the whole page, none when fresh.
    The visitor id is the unit whose stable hash picks the arm (a visitor without a token was given
    a fresh random id, so theirs is a fresh random draw that stays put once they send the token
    back); without any id, a fresh draw from the loop's generator.
    """
    rc = as_request_context(rc)
    if page is not None and rc.page_id is None:  # the consented journey keeps the page id and kind
        rc.page_id, rc.page_section, rc.page_kind = describe_page(page, rc.path)
    ctx = enrich(rc, compiled.facts, record_view=record_visit and not preview, index=index)
    learning = [s for s in compiled.slots if s.policy in WEIGHTED_POLICIES and not s.paused]
    if learning:
        loop = loop or feedback()
        loop.ensure_fresh(learning)
    decisions = []
    for slot in compiled.slots:
        if slot.policy in WEIGHTED_POLICIES and not slot.paused:
            bucket, allocation = loop.allocation(slot, ctx)  # type: ignore[union-attr]
            decisions.append(
                decide(
                    slot,
                    ctx,
                    explain_all=preview,
                    allocation=allocation,
                    unit=rc.visitor_id,
                    rng=loop.rng,  # type: ignore[union-attr]
                    bucket=bucket,
                    evidence=loop.evidence(slot.id, bucket),  # type: ignore[union-attr]
                )
            )
        else:
            decisions.append(decide(slot, ctx, explain_all=preview))
    result = PagePersonalization(page, compiled, ctx, decisions, visitor_id=rc.visitor_id, consent=rc.consent)
    if not preview:
        bot = ctx.get("device") == "bot"
        dims = breakdown_dims(ctx, segments=rc.consent.analytics)
        result.tokens = {
            d.slot_id: sign_decision(
                d,
                page_id=compiled.page_id,
                visitor_id=rc.visitor_id,
                analytics=rc.consent.analytics,
                bot=bot,
                dims=dims,
            )
            for d in decisions
        }
    return result


def breakdown_dims(ctx: Context, *, segments: bool = False) -> str:
    """What an experiment's review breaks results down by, for this request: ``device|daypart|segments``
    (``?`` when unknown). Coarse values only, no identity: the device class and the time of day always
    (facts of the "necessary" level); the segments (slugs, at most BREAKDOWN_MAX_SEGMENTS,
    comma-separated) only when `segments` says the visitor allowed analytics (and they are known:
    with personalization consent), since the event log keeps them."""
    segments = ctx.get("segments") if segments else None
    if segments is None:
        seg = UNKNOWN
    else:
        member = sorted({segments} if isinstance(segments, str) else set(map(str, segments)))
        seg = ",".join(m.replace("|", "/").replace(",", "/")[:64] for m in member[:BREAKDOWN_MAX_SEGMENTS])
    return f"{attribute_value('device', ctx)}|{attribute_value('daypart', ctx)}|{seg}"


def load_profile(visitor_id: str | None):
    """The visitor's stored profile (with the consent they gave through setConsent), or None; the
    segment index's periodic version check rides along in the same Redis round trip."""
    try:
        return profile_and_version(visitor_id)
    except Exception:  # the store being down means "unknown": the default consent applies
        return None
