"""GraphQL: personalized pages, decisions and their explanations. Translation only: the domain
work happens in `variants.services`, `rules.context_builder` and the engine."""

from __future__ import annotations

import graphene
from django.utils import translation
from graphql import GraphQLError
from grapple.types.interfaces import get_page_interface
from grapple.types.pages import get_site_filter, get_specific_page

from rules.context_builder import build_request_context, visitor_language
from rules.context_consent import opt_out, opted_out
from rules.engine import InvalidContext
from rules.request_budget import take_warnings
from rules.schema import (
    ContextInput,
    ContextView,
    ResolvedContext,
    forwarded_headers_argument,
    visitor_request,
    vocabulary_enum,
)
from tailor.signing import visitor_token_for
from variants import rendering
from variants.engine.vocabulary import EVENT_KINDS, POLICIES
from variants.event_limits import events_limited
from variants.events import REASON_BOT, REASON_DUPLICATE, EventError, Requester, record_event
from variants.schema_privacy import ForgetVisitor, export_visitor_data_field
from variants.services import load_profile, personalize_page
from variants.tokens import TokenError, new_visitor_id, read_decision_token, read_visitor_token

Policy = vocabulary_enum("Policy", POLICIES, "How a slot chose its variant (DEFAULT: no variant matched)")


class Decision(graphene.ObjectType):
    """Which variant a slot shows, by which policy, with what probability, and why."""

    slot = graphene.String(required=True, description="The slot's name, e.g. 'hero'")
    slot_id = graphene.String(required=True, description="The slot's stable id (its block id)")
    variant = graphene.String(required=True, description="The variant's stable id, or 'default'")
    variant_name = graphene.String(required=True)
    policy = graphene.Field(Policy, required=True)
    probability = graphene.Float(required=True, description="Exact propensity of this choice")
    reasons = graphene.List(graphene.NonNull(graphene.String), required=True)
    token = graphene.String(required=True, description="Signed; send it back with recordEvent")


def decision_payload(decision, token: str) -> dict:
    """The `Decision` type's fields from an engine Decision or the claims of its token (same names)."""
    return {
        "slot": decision.slot_name,
        "slot_id": decision.slot_id,
        "variant": decision.variant_id,
        "variant_name": decision.variant_name,
        "policy": decision.policy,
        "probability": decision.probability,
        "reasons": list(decision.reasons),
        "token": token,
    }


ThemeSource = vocabulary_enum(
    "ThemeSource",
    rendering.THEME_SOURCES,
    "Why a theme was chosen: asked for by name, pinned to the page, activated by the context, the site's "
    "default, or the fallback",
)


class ThemeDecision(graphene.ObjectType):
    """The theme a page renders through, and why (like a decision's reasons, in the visitor's language)."""

    name = graphene.String(required=True)
    label = graphene.String(required=True)
    source = graphene.Field(ThemeSource, required=True)
    reason = graphene.String(required=True)


class PersonalizedPage(graphene.ObjectType):
    page = graphene.NonNull(get_page_interface)
    decisions = graphene.List(graphene.NonNull(Decision), required=True)
    visitor_token = graphene.String(
        required=True,
        description="The visitor's token: keep it (e.g. in a cookie) and send it back. Empty under Sec-GPC: 1 or "
        "DNT: 1 (no token is issued; keep no cookie)",
    )
    context = graphene.Field(ResolvedContext, required=True)
    cache_key = graphene.String(
        required=True,
        description="Names the decision bucket (page, revision, the variant of each slot); no visitor data",
    )
    warnings = graphene.List(
        graphene.NonNull("cms.graphql_types.FieldError"),
        required=True,
        description="Input that was set aside rather than refused, e.g. an expired visitorToken (replaced)",
    )

    rendered_html = graphene.String(
        required=True,
        theme=graphene.String(description="A theme's name; without it, the theme the site, page or context selects"),
        description="The page with its personalized regions, rendered server-side through a theme (HTML whose "
        "root element carries data-tailor-theme)",
    )

    theme = graphene.Field(
        ThemeDecision,
        name=graphene.String(description="A theme's name; without it, the theme the site, page or context selects"),
        description="The theme renderedHtml uses and why (null when no themes app is installed)",
    )

    @staticmethod
    def resolve_page(result, info):
        return result.page

    @staticmethod
    def resolve_rendered_html(result, info, theme=None):
        try:
            with translation.override(visitor_language(result.context)):
                return rendering.render(result, theme, info.context)
        except rendering.UnknownTheme as e:
            raise GraphQLError(f"theme: {e.message}", extensions={"field": "theme"}) from None

    @staticmethod
    def resolve_theme(result, info, name=None):
        try:
            with translation.override(visitor_language(result.context)):
                return rendering.explain_theme(result, name, info.context)
        except rendering.UnknownTheme as e:
            raise GraphQLError(f"name: {e.message}", extensions={"field": "name"}) from None

    @staticmethod
    def resolve_decisions(result, info):
        return [decision_payload(d, result.tokens.get(d.slot_id, "")) for d in result.decisions]

    @staticmethod
    def resolve_visitor_token(result, info):
        if result.visitor_id is None or opted_out(result.consent):
            return ""  # Sec-GPC / DNT: no token is issued, so nothing can be keyed to the visitor
        return visitor_token_for(result.visitor_id, getattr(info.context, "tailor_visitor_token", None))

    @staticmethod
    def resolve_warnings(result, info):
        return getattr(info.context, "tailor_warnings", [])

    @staticmethod
    def resolve_context(result, info):
        return ContextView(result.context, result.consent)

    @staticmethod
    def resolve_cache_key(result, info):
        return result.cache_key


def _camel(path: str) -> str:
    """'weather.temperature_c' -> 'weather.temperatureC': name the field as the client spelled it."""
    return ".".join(p.split("_")[0] + "".join(w.title() for w in p.split("_")[1:]) for p in path.split("."))


def context_error(e: InvalidContext) -> GraphQLError:
    if e.field.startswith("forwardedHeaders"):  # an argument of its own, not part of `context`
        field = e.field
    elif e.field.startswith(("traits.", "query.")):  # keys inside traits and query are the client's own
        field = f"context.{e.field}"
    else:
        field = f"context.{_camel(e.field)}"
    return GraphQLError(f"{field}: {e.message}", extensions={"field": field})


def _page(info, url_path, in_site, site, preview_token, content_type):
    site_filter = get_site_filter(info, in_site=in_site, site=site)
    if not preview_token:
        return get_specific_page(url_path=url_path, site=site_filter)
    if not content_type:
        raise GraphQLError("contentType: give the page type with previewToken", extensions={"field": "contentType"})
    try:
        # grapple's preview lookup: a page model with wagtail-headless-preview's mixin reads the token.
        page = get_specific_page(token=preview_token, content_type=content_type, site=site_filter)
    except Exception:  # a bad signature, a token of another page type, a model without previews
        page = None
    if page is None:
        raise GraphQLError(
            "previewToken: no preview for this token (expired, or not for this contentType)",
            extensions={"field": "previewToken"},
        )
    return page


class Query:
    personalized_page = graphene.Field(
        PersonalizedPage,
        url_path=graphene.String(required=True),
        in_site=graphene.Boolean(default_value=False),
        site=graphene.String(),
        context=ContextInput(),
        visitor_token=graphene.String(
            description="The token a previous answer gave; an invalid or expired one is replaced (see warnings)"
        ),
        forwarded_headers=forwarded_headers_argument(),
        record_visit=graphene.Boolean(
            default_value=True,
            description="false: decide without counting a page view (a prefetch, a refresh, a middleware call)",
        ),
        preview_token=graphene.String(
            description="wagtail-headless-preview's token: decide on the unpublished draft it holds; nothing "
            "is recorded and decisions carry no token"
        ),
        content_type=graphene.String(description="With previewToken: the page type, e.g. 'home.homepage'"),
        description="A page with each personalized region resolved for the visitor's context.",
    )
    export_visitor_data = export_visitor_data_field
    explain_decision = graphene.Field(
        Decision,
        token=graphene.String(required=True),
        description="Why a decision was made (from its token); null for an invalid or expired token.",
    )

    def resolve_personalized_page(
        self,
        info,
        url_path,
        in_site=False,
        site=None,
        context=None,
        visitor_token=None,
        forwarded_headers=None,
        record_visit=True,
        preview_token=None,
        content_type=None,
    ):
        request = info.context
        request.tailor_private = True  # per-visitor: never cached as shared (see cms.graphql_view)
        warnings = request.tailor_warnings = []
        visitor_id = None
        if visitor_token:
            try:
                visitor_id = read_visitor_token(visitor_token)
                request.tailor_visitor_token = visitor_token
            except TokenError as e:
                # The page still comes back, for a fresh visitor; the payload says what was wrong.
                warnings.append({"field": "visitorToken", "message": e.message})
        try:
            visitor = visitor_request(request, forwarded_headers)
            # Under Sec-GPC / DNT no visitor id is made up and no profile is read (nothing is stored either:
            # the opt-out means no personalization and no analytics consent).
            refused = opt_out(visitor) is not None
            rc = build_request_context(
                visitor,
                context,
                visitor_id=visitor_id or (None if refused else new_visitor_id()),
                path=url_path,
                profile=load_profile(visitor_id) if visitor_id and not refused else None,
            )
        except InvalidContext as e:
            raise context_error(e) from None
        page = _page(info, url_path, in_site, site, preview_token, content_type)
        if page is None:
            return None
        # GET never changes anything (it may be cached and replayed): no page view, no profile, no consent.
        record_visit = record_visit and getattr(request, "method", None) != "GET"
        # Reasons and facts' details are worded in the visitor's language, not the calling server's.
        with translation.override(visitor_language(rc.ctx)):
            result = personalize_page(page, rc, preview=bool(preview_token), record_visit=record_visit)
        warnings.extend(take_warnings())  # e.g. weather left unknown past the request's lookups
        # The personalized blocks inside `page` read the decisions from the request while resolving.
        decisions = getattr(request, "tailor_decisions", None)
        if decisions is None:
            decisions = {}
            request.tailor_decisions = decisions
        decisions.update({d.slot_id: d for d in result.decisions})
        return result

    def resolve_explain_decision(self, info, token):
        try:
            claims = read_decision_token(token)
        except TokenError:
            return None
        return decision_payload(claims, token)


EventKind = vocabulary_enum("EventKind", EVENT_KINDS, "What a frontend reports against a decision token")


class NotCountedReason(graphene.Enum):
    DUPLICATE = REASON_DUPLICATE
    BOT = REASON_BOT

    @property
    def description(self):
        if self == NotCountedReason.DUPLICATE:
            return (
                "This decision's event of this kind was counted already, whatever the goal (also the "
                "answer to a retry of a call that counted but whose answer was lost: nothing is counted twice)"
            )
        return "The decision or this request came from a bot"


class RecordEventPayload(graphene.ObjectType):
    ok = graphene.Boolean(required=True, description="The event was valid (it may still not be counted)")
    counted = graphene.Boolean(required=True, description="The event changed the stats and the event log")
    reason = graphene.Field(NotCountedReason, description="Why a valid event was not counted")
    errors = graphene.List(graphene.NonNull("cms.graphql_types.FieldError"), required=True)


class RecordEvent(graphene.Mutation):
    """Record an impression, click or conversion against a decision's token. Counted at most once per
    (token, kind): a goal is an attribute of that one event, and an IMPRESSION has none; bots are not
    counted. An error with no field means it could not be stored now and was not counted: retry. Feeds the slot's learning policy and the reviews."""

    class Arguments:
        token = graphene.String(required=True, description="The decision's token")
        kind = EventKind(required=True)
        goal = graphene.String(description="Which goal (e.g. 'signup'); 1-64 letters, digits or _ . : / -")
        value = graphene.Float(description="A conversion's value (e.g. the order total)")
        forwarded_headers = forwarded_headers_argument()

    Output = RecordEventPayload

    @staticmethod
    def mutate(root, info, token, kind, goal=None, value=None, forwarded_headers=None):
        info.context.tailor_private = True
        limited = events_limited(info.context, [token])  # TAILOR["RATE_LIMITS"]
        if limited is not None:
            raise GraphQLError(limited.message, extensions=limited.extensions)
        try:
            # Sent by a frontend's server on the visitor's behalf: judged by the visitor's User-Agent.
            requester = Requester.from_request(visitor_request(info.context, forwarded_headers))
        except InvalidContext as e:
            return RecordEventPayload(ok=False, counted=False, errors=[{"field": e.field, "message": e.message}])
        try:
            result = record_event(token, kind, goal, value, requester=requester)
        except EventError as e:
            return RecordEventPayload(ok=False, counted=False, errors=[{"field": e.field, "message": e.message}])
        return RecordEventPayload(ok=True, counted=result.counted, reason=result.reason, errors=[])


class Mutation:
    record_event = RecordEvent.Field()
    forget_visitor = ForgetVisitor.Field()
