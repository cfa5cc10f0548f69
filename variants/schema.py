"""GraphQL: personalized pages, decisions and their explanations. Translation only: the domain
work happens in `variants.services`, `rules.context_builder` and the engine."""

from __future__ import annotations

import graphene
from graphql import GraphQLError
from grapple.types.interfaces import get_page_interface
from grapple.types.pages import get_site_filter, get_specific_page

from rules.context_builder import build_request_context
from rules.engine import InvalidContext
from rules.schema import ContextInput, ContextView, ResolvedContext, vocabulary_enum
from tailor.signing import visitor_token_for
from variants.engine.vocabulary import EVENT_KINDS, POLICIES
from variants.events import REASON_BOT, REASON_DUPLICATE, EventError, Requester, record_event
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


class PersonalizedPage(graphene.ObjectType):
    page = graphene.NonNull(get_page_interface)
    decisions = graphene.List(graphene.NonNull(Decision), required=True)
    visitor_token = graphene.String()
    context = graphene.Field(ResolvedContext, required=True)
    cache_key = graphene.String(required=True)

    @staticmethod
    def resolve_page(result, info):
        return result.page

    @staticmethod
    def resolve_decisions(result, info):
        return [decision_payload(d, result.tokens.get(d.slot_id, "")) for d in result.decisions]

    @staticmethod
    def resolve_visitor_token(result, info):
        if not result.visitor_id:
            return None
        return visitor_token_for(result.visitor_id, getattr(info.context, "tailor_visitor_token", None))

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
    # Keys inside traits and query are the client's own; everything else is a schema field name.
    field = f"context.{e.field}" if e.field.startswith(("traits.", "query.")) else f"context.{_camel(e.field)}"
    return GraphQLError(f"{field}: {e.message}", extensions={"field": field})


class Query:
    personalized_page = graphene.Field(
        PersonalizedPage,
        url_path=graphene.String(required=True),
        in_site=graphene.Boolean(default_value=False),
        site=graphene.String(),
        context=ContextInput(),
        visitor_token=graphene.String(),
        description="A page with each personalized region resolved for the visitor's context.",
    )
    explain_decision = graphene.Field(
        Decision,
        token=graphene.String(required=True),
        description="Why a decision was made (from its token); null for an invalid or expired token.",
    )

    def resolve_personalized_page(self, info, url_path, in_site=False, site=None, context=None, visitor_token=None):
        visitor_id = None
        if visitor_token:
            try:
                visitor_id = read_visitor_token(visitor_token)
                info.context.tailor_visitor_token = visitor_token
            except TokenError as e:
                raise GraphQLError(f"visitorToken: {e.message}", extensions={"field": "visitorToken"}) from None
        try:
            rc = build_request_context(
                info.context,
                context,
                visitor_id=visitor_id or new_visitor_id(),
                path=url_path,
                profile=load_profile(visitor_id) if visitor_id else None,
            )
        except InvalidContext as e:
            raise context_error(e) from None
        page = get_specific_page(url_path=url_path, site=get_site_filter(info, in_site=in_site, site=site))
        if page is None:
            return None
        result = personalize_page(page, rc)
        # The personalized blocks inside `page` read the decisions from the request while resolving.
        decisions = getattr(info.context, "tailor_decisions", None)
        if decisions is None:
            decisions = {}
            info.context.tailor_decisions = decisions
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
            return "This (token, kind, goal) was counted already"
        return "The decision or this request came from a bot"


class RecordEventPayload(graphene.ObjectType):
    ok = graphene.Boolean(required=True, description="The event was valid (it may still not be counted)")
    counted = graphene.Boolean(required=True, description="The event changed the stats and the event log")
    reason = graphene.Field(NotCountedReason, description="Why a valid event was not counted")
    errors = graphene.List(graphene.NonNull("cms.graphql_types.FieldError"), required=True)


class RecordEvent(graphene.Mutation):
    """Record an impression, click or conversion against a decision's token. Counted once per
    (token, kind, goal); bots are not counted. Feeds the slot's learning policy and the reviews."""

    class Arguments:
        token = graphene.String(required=True, description="The decision's token")
        kind = EventKind(required=True)
        goal = graphene.String(description="Which goal (e.g. 'signup'); 1-64 letters, digits or _ . : / -")
        value = graphene.Float(description="A conversion's value (e.g. the order total)")

    Output = RecordEventPayload

    @staticmethod
    def mutate(root, info, token, kind, goal=None, value=None):
        try:
            result = record_event(token, kind, goal, value, requester=Requester.from_request(info.context))
        except EventError as e:
            return RecordEventPayload(ok=False, counted=False, errors=[{"field": e.field, "message": e.message}])
        return RecordEventPayload(ok=True, counted=result.counted, reason=result.reason, errors=[])


class Mutation:
    record_event = RecordEvent.Field()
