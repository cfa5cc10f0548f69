"""GraphQL types for the request context: what a client may send, and what was used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import graphene
from graphql import GraphQLError, StringValueNode, print_ast, value_from_ast_untyped

from rules.context_consent import CONSENT_SOURCES, opt_out
from rules.context_headers import FORWARDABLE_HEADERS, MAX_FORWARDED_HEADERS, forwarded_request
from rules.engine import Context, InvalidContext
from rules.engine.context import FACT_SOURCES
from rules.engine.vocabulary import DEVICE_CLASSES, EMOTION_LABELS, WEATHER_CONDITIONS
from rules.profiles import profile_store, set_consent
from tailor.ratelimit import client_address, hit
from tailor.signing import TokenError, new_visitor_id, read_visitor_token, sign_visitor, visitor_token_for


def vocabulary_enum(name: str, values: tuple[str, ...], description: str) -> type[graphene.Enum]:
    """A GraphQL enum over one of the engine's closed vocabularies: members upper-cased ('Sec-GPC' ->
    SEC_GPC), values as-is."""
    return graphene.Enum(name, [(value.upper().replace("-", "_"), value) for value in values], description=description)


DeviceKind = vocabulary_enum("DeviceKind", DEVICE_CLASSES, "The class of device a visitor uses")
EmotionLabel = vocabulary_enum("EmotionLabel", EMOTION_LABELS, "An emotion read from the visitor's text")
WeatherCondition = vocabulary_enum("WeatherCondition", WEATHER_CONDITIONS, "What the sky is doing")
FactSource = vocabulary_enum("FactSource", FACT_SOURCES, "Where a fact of the context came from")
ConsentSource = vocabulary_enum(
    "ConsentSource", CONSENT_SOURCES, "Where the consent came from: the call, the stored choice, a privacy signal"
)


class ContextDateTime(graphene.Scalar):
    """An ISO 8601 date-time; the offset is optional (`2026-11-30T19:00:00+09:00`, `2026-11-30T19:00`).
    Without one it is the visitor's wall-clock time in their timezone. Read as text here and checked with
    the rest of the context, so a malformed value is an error naming `context.now` wherever it is written.
    """

    @staticmethod
    def serialize(value):
        return value.isoformat() if isinstance(value, datetime) else str(value)

    @staticmethod
    def parse_value(value):
        if not isinstance(value, str):
            raise GraphQLError(
                "context.now: expected an ISO 8601 date-time as text", extensions={"field": "context.now"}
            )
        return value

    @staticmethod
    def parse_literal(node, _variables=None):
        if not isinstance(node, StringValueNode):
            raise GraphQLError(
                f"context.now: expected an ISO 8601 date-time as text, got {print_ast(node)}",
                extensions={"field": "context.now"},
            )
        return node.value


class JSON(graphene.Scalar):
    """A JSON value as itself: a string, number, boolean, list or object (not JSON encoded in a string)."""

    @staticmethod
    def serialize(value):
        return value

    @staticmethod
    def parse_value(value):
        return value

    @staticmethod
    def parse_literal(node, _variables=None):
        return value_from_ast_untyped(node, _variables)


class HeaderInput(graphene.InputObjectType):
    """One of the visitor's request headers, as the frontend's server received it."""

    name = graphene.String(required=True, description="e.g. 'User-Agent', 'Sec-GPC', 'X-Vercel-IP-Timezone'")
    value = graphene.String(required=True)


def forwarded_headers_argument() -> graphene.List:
    return graphene.List(
        graphene.NonNull(HeaderInput),
        description=(
            "The visitor's own request headers, forwarded by a server-side frontend. When given they replace "
            "the calling request's headers (which are the frontend server's). Read: "
            + ", ".join(FORWARDABLE_HEADERS)
            + f"; other names are ignored. At most {MAX_FORWARDED_HEADERS}. A forwarded Sec-GPC: 1 or DNT: 1 "
            "wins over any consent in the same call."
        ),
    )


def visitor_request(request, forwarded_headers):
    """The request whose headers describe the visitor: the forwarded ones when a frontend sent them.
    Raises InvalidContext(field='forwardedHeaders...')."""
    if forwarded_headers is None:
        return request
    return forwarded_request(forwarded_headers)


class TraitInput(graphene.InputObjectType):
    """A custom fact about the visitor; give exactly one of text, number or flag."""

    key = graphene.String(required=True, description="At most 64 characters")
    text = graphene.String()
    number = graphene.Float()
    flag = graphene.Boolean()


class QueryParamInput(graphene.InputObjectType):
    """One query parameter of the page the visitor is on; `utm_*` are read as the campaign."""

    name = graphene.String(required=True)
    value = graphene.String(required=True)


class WeatherInput(graphene.InputObjectType):
    condition = graphene.Field(WeatherCondition)
    temperature_c = graphene.Float(description="°C, within [-90, 60]")


class UtmInput(graphene.InputObjectType):
    source = graphene.String()
    medium = graphene.String()
    campaign = graphene.String()
    term = graphene.String()
    content = graphene.String()


class ConsentInput(graphene.InputObjectType):
    personalization = graphene.Boolean(required=True)
    analytics = graphene.Boolean(required=True)


class ContextInput(graphene.InputObjectType):
    """What the frontend knows about the visitor. Everything is optional; unknown stays unknown.

    It wins over what request headers say. Sizes are bounded: text 2,000 characters, 50 traits,
    50 query parameters; an out-of-range value is a GraphQL error naming the field.
    """

    timezone = graphene.String(description="IANA timezone of the visitor, e.g. 'Asia/Seoul'")
    now = graphene.Field(
        ContextDateTime,
        description="The instant to decide for (ISO 8601). Without an offset it is read as the "
        "visitor's wall-clock time in `timezone`. Defaults to the server clock.",
    )
    country = graphene.String(description="ISO 3166 code ('KR') or a country name")
    city = graphene.String()
    latitude = graphene.Float(description="With longitude: used for the weather, never stored")
    longitude = graphene.Float()
    weather = graphene.Field(WeatherInput, description="Weather the frontend knows; wins over the provider")
    user_agent = graphene.String(description="The visitor's User-Agent (only its device class is kept)")
    device = graphene.Field(DeviceKind)
    language = graphene.String(description="A tag or an Accept-Language value: 'ko-KR,ko;q=0.9'")
    referrer = graphene.String()
    utm = graphene.Field(UtmInput)
    query = graphene.List(
        graphene.NonNull(QueryParamInput),
        description="The page's query parameters (at most 50); utm_* are read from here",
    )
    text = graphene.String(description="A text signal (search, message) for the emotion classifier; never stored")
    emotion = graphene.Field(EmotionLabel, description="Wins over the classifier")
    traits = graphene.List(graphene.NonNull(TraitInput), description="Custom key/value facts, at most 50")
    consent = graphene.Field(ConsentInput, description="The visitor's consent as the frontend's CMP knows it")


def _jsonable(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "as_dict"):  # the journey facts (rules.engine.journey / prediction)
        return _jsonable(value.as_dict())
    return value


class ContextFact(graphene.ObjectType):
    name = graphene.String(required=True)
    value = graphene.Field(JSON, required=True, description="The fact's value as JSON: text, number, list or object")
    source = graphene.Field(FactSource, required=True)
    detail = graphene.String()

    @staticmethod
    def resolve_value(fact, info):
        return _jsonable(fact.value)


class Weather(graphene.ObjectType):
    condition = graphene.Field(WeatherCondition)
    temperature_c = graphene.Float()


class Emotion(graphene.ObjectType):
    label = graphene.Field(EmotionLabel, required=True)
    confidence = graphene.Float(required=True)


class Consent(graphene.ObjectType):
    personalization = graphene.Boolean(required=True)
    analytics = graphene.Boolean(required=True)
    source = graphene.Field(ConsentSource, required=True)


@dataclass(frozen=True)
class ContextView:
    """What `ResolvedContext` resolves from: the context and the consent it was built under."""

    ctx: Context
    consent: Any = None

    def __getattr__(self, name: str) -> Any:
        # Fields named like facts (timezone, device, weather, visit_count, ...) resolve to the fact.
        if name.startswith("_") or name in ("ctx", "consent"):
            raise AttributeError(name)
        return self.ctx.get(name)


class JourneyStageEcho(graphene.ObjectType):
    """The funnel stage the visitor's journey is in (editors define the stages), and why."""

    stage = graphene.String(description="The stage's slug; null: in no stage yet")
    name = graphene.String()
    reason = graphene.String(required=True)

    @staticmethod
    def resolve_stage(result, info):
        return result.slug


class ConversionLikelihood(graphene.ObjectType):
    """The predicted probability that this visit converts, and the strongest signals behind it."""

    probability = graphene.Float(required=True)
    signals = graphene.List(graphene.NonNull(graphene.String), required=True)


class ResolvedContext(graphene.ObjectType):
    """The context the decisions were made with; `facts` lists each one with its source."""

    timezone = graphene.String()
    now = graphene.DateTime(required=True)
    local_time = graphene.DateTime(description="`now` on the visitor's wall clock, when the timezone is known")
    device = graphene.Field(DeviceKind)
    country = graphene.String()
    city = graphene.String()
    language = graphene.List(graphene.NonNull(graphene.String))
    weather = graphene.Field(Weather)
    emotion = graphene.Field(Emotion)
    segments = graphene.List(graphene.NonNull(graphene.String), description="Slugs of the visitor's segments")
    visit_count = graphene.Int()
    consent = graphene.Field(Consent)
    journey_stage = graphene.Field(
        JourneyStageEcho, description="With personalization consent, when the site defines journey stages"
    )
    conversion_likelihood = graphene.Field(
        ConversionLikelihood, description="With personalization consent, when a condition of the page reads it"
    )
    facts = graphene.List(graphene.NonNull(ContextFact), required=True)

    @staticmethod
    def resolve_now(view: ContextView, info):
        # Always with an offset: a wall-clock `now` (no offset) is placed in the visitor's timezone, or
        # read as UTC when their timezone is unknown.
        now = view.ctx.get("now")
        if now is None or now.tzinfo is not None:
            return now
        return view.ctx.local_now() or now.replace(tzinfo=UTC)

    @staticmethod
    def resolve_local_time(view: ContextView, info):
        return view.ctx.local_now()

    @staticmethod
    def resolve_segments(view: ContextView, info):
        segments = view.ctx.get("segments")
        return sorted(segments) if segments is not None else None

    @staticmethod
    def resolve_consent(view: ContextView, info):
        return view.consent.as_dict() if view.consent is not None else None

    @staticmethod
    def resolve_facts(view: ContextView, info):
        return sorted(view.ctx.facts(), key=lambda f: f.name)


class ConsentPayload(graphene.ObjectType):
    ok = graphene.Boolean(required=True)
    visitor_token = graphene.String(
        description="The visitor's token (new when none was sent); null under Sec-GPC: 1 or DNT: 1 (none is issued)"
    )
    consent = graphene.Field(Consent)
    errors = graphene.List(graphene.NonNull("cms.graphql_types.FieldError"), required=True)


def field_errors(e: InvalidContext) -> list[dict[str, str]]:
    return [{"field": e.field, "message": e.message}]


class SetConsent(graphene.Mutation):
    """Record a visitor's consent. Without personalization consent no profile, history, segments or
    emotion-from-text are used, and withdrawing it erases what was kept. While the visitor's browser
    sends `Sec-GPC: 1` or `DNT: 1` (forwarded or on this request) nothing is stored: the answer's
    consent says so (source `Sec-GPC`/`DNT`); a withdrawal still erases what was kept before."""

    class Arguments:
        visitor_token = graphene.String()
        personalization = graphene.Boolean(required=True)
        analytics = graphene.Boolean(required=True)
        forwarded_headers = forwarded_headers_argument()

    Output = ConsentPayload

    @staticmethod
    def mutate(root, info, personalization, analytics, visitor_token=None, forwarded_headers=None):
        info.context.tailor_private = True
        try:
            request = visitor_request(info.context, forwarded_headers)
        except InvalidContext as e:
            return ConsentPayload(ok=False, errors=field_errors(e))
        if visitor_token:
            try:
                visitor_id = read_visitor_token(visitor_token)
            except TokenError as e:
                return ConsentPayload(ok=False, errors=[{"field": "visitorToken", "message": e.message}])
        else:
            visitor_id = new_visitor_id()
        limited = hit(  # TAILOR["RATE_LIMITS"]: a new visitor counts against the address only
            "CONSENT", visitors={visitor_id: 1} if visitor_token else None, address=client_address(info.context)
        )
        if limited is not None:
            raise GraphQLError(limited.message, extensions=limited.extensions)
        token = visitor_token or sign_visitor(visitor_id)
        refused = opt_out(request)
        if refused is not None:
            # Under an opt-out signal nothing new is stored and no token is issued; a withdrawal still
            # erases what was kept.
            if not (personalization or analytics) and profile_store().get(visitor_id) is not None:
                set_consent(visitor_id, personalization=False, analytics=False)
            return ConsentPayload(ok=True, visitor_token=None, consent=refused.as_dict(), errors=[])
        profile = set_consent(visitor_id, personalization=personalization, analytics=analytics)
        return ConsentPayload(
            ok=True,
            visitor_token=token,
            consent={
                "personalization": profile.consent_personalization,
                "analytics": profile.consent_analytics,
                "source": "stored",
            },
            errors=[],
        )


class IdentifyVisitorPayload(graphene.ObjectType):
    visitor_token = graphene.String(
        required=True,
        description="Keep it (e.g. in a cookie) and send it back. Empty under Sec-GPC: 1 or DNT: 1 (forwarded "
        "or on this request): no token is issued, so keep no cookie",
    )
    fresh = graphene.Boolean(required=True, description="A new visitor: none, or no usable token, was sent")
    warnings = graphene.List(
        graphene.NonNull("cms.graphql_types.FieldError"),
        required=True,
        description="What was wrong with the token sent (it was replaced)",
    )


class IdentifyVisitor(graphene.Mutation):
    """The visitor's token, for a frontend's proxy/middleware to set as a cookie before the page is
    rendered: the one sent while it is fresh, renewed past half its lifetime, new when none or an
    invalid one was sent. Records nothing (no visit, no profile). Under Sec-GPC: 1 or DNT: 1 (forwarded
    or on this request) the token is empty: none is issued."""

    class Arguments:
        visitor_token = graphene.String()
        forwarded_headers = forwarded_headers_argument()

    Output = IdentifyVisitorPayload

    @staticmethod
    def mutate(root, info, visitor_token=None, forwarded_headers=None):
        info.context.tailor_private = True
        try:
            request = visitor_request(info.context, forwarded_headers)
        except InvalidContext as e:
            raise GraphQLError(f"{e.field}: {e.message}", extensions={"field": e.field}) from None
        if opt_out(request) is not None:
            return IdentifyVisitorPayload(visitor_token="", fresh=not visitor_token, warnings=[])
        warnings = []
        visitor_id = None
        if visitor_token:
            try:
                visitor_id = read_visitor_token(visitor_token)
            except TokenError as e:
                warnings.append({"field": "visitorToken", "message": e.message})
        if visitor_id is None:
            return IdentifyVisitorPayload(visitor_token=sign_visitor(new_visitor_id()), fresh=True, warnings=warnings)
        token = visitor_token_for(visitor_id, visitor_token)
        return IdentifyVisitorPayload(visitor_token=token, fresh=False, warnings=warnings)


class Mutation:
    set_consent = SetConsent.Field()
    identify_visitor = IdentifyVisitor.Field()
