"""GraphQL types for the request context: what a client may send, and what was used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import graphene

from rules.engine import Context
from rules.engine.vocabulary import DEVICE_CLASSES, EMOTION_LABELS, WEATHER_CONDITIONS
from rules.profiles import set_consent
from tailor.signing import TokenError, new_visitor_id, read_visitor_token, sign_visitor


def vocabulary_enum(name: str, values: tuple[str, ...], description: str) -> type[graphene.Enum]:
    """A GraphQL enum over one of the engine's closed vocabularies: members upper-cased, values as-is."""
    return graphene.Enum(name, [(value.upper(), value) for value in values], description=description)


DeviceKind = vocabulary_enum("DeviceKind", DEVICE_CLASSES, "The class of device a visitor uses")
EmotionLabel = vocabulary_enum("EmotionLabel", EMOTION_LABELS, "An emotion read from the visitor's text")
WeatherCondition = vocabulary_enum("WeatherCondition", WEATHER_CONDITIONS, "What the sky is doing")


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
    now = graphene.DateTime(
        description="The instant to decide for (ISO 8601). Without an offset it is read as the "
        "visitor's wall-clock time in `timezone`. Defaults to the server clock."
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
    query = graphene.JSONString(description="The page's query parameters; utm_* are read from here")
    text = graphene.String(description="A text signal (search, message) for the emotion classifier; never stored")
    emotion = graphene.Field(EmotionLabel, description="Wins over the classifier")
    traits = graphene.JSONString(description="Custom key/value facts, at most 50")
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
    return value


class ContextFact(graphene.ObjectType):
    name = graphene.String(required=True)
    value = graphene.JSONString(required=True)
    source = graphene.String(required=True, description="input, header, provider, profile, segments or server")
    detail = graphene.String()

    @staticmethod
    def resolve_value(fact, info):
        return _jsonable(fact.value)


class Weather(graphene.ObjectType):
    condition = graphene.String()
    temperature_c = graphene.Float()


class Emotion(graphene.ObjectType):
    label = graphene.String(required=True)
    confidence = graphene.Float(required=True)


class Consent(graphene.ObjectType):
    personalization = graphene.Boolean(required=True)
    analytics = graphene.Boolean(required=True)
    source = graphene.String(required=True, description="input, stored, Sec-GPC, DNT or default")


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


class ResolvedContext(graphene.ObjectType):
    """The context the decisions were made with; `facts` lists each one with its source."""

    timezone = graphene.String()
    now = graphene.DateTime(required=True)
    local_time = graphene.DateTime(description="`now` on the visitor's wall clock, when the timezone is known")
    device = graphene.String()
    country = graphene.String()
    city = graphene.String()
    language = graphene.List(graphene.NonNull(graphene.String))
    weather = graphene.Field(Weather)
    emotion = graphene.Field(Emotion)
    segments = graphene.List(graphene.NonNull(graphene.String), description="Slugs of the visitor's segments")
    visit_count = graphene.Int()
    consent = graphene.Field(Consent)
    facts = graphene.List(graphene.NonNull(ContextFact), required=True)

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
    visitor_token = graphene.String(description="The visitor's token (new when none was sent)")
    consent = graphene.Field(Consent)
    errors = graphene.List(graphene.NonNull("cms.graphql_types.FieldError"), required=True)


class SetConsent(graphene.Mutation):
    """Record a visitor's consent. Without personalization consent no profile, history, segments or
    emotion-from-text are used, and withdrawing it erases what was kept."""

    class Arguments:
        visitor_token = graphene.String()
        personalization = graphene.Boolean(required=True)
        analytics = graphene.Boolean(required=True)

    Output = ConsentPayload

    @staticmethod
    def mutate(root, info, personalization, analytics, visitor_token=None):
        if visitor_token:
            try:
                visitor_id = read_visitor_token(visitor_token)
            except TokenError as e:
                return ConsentPayload(ok=False, errors=[{"field": "visitorToken", "message": e.message}])
        else:
            visitor_id = new_visitor_id()
        profile = set_consent(visitor_id, personalization=personalization, analytics=analytics)
        return ConsentPayload(
            ok=True,
            visitor_token=visitor_token or sign_visitor(visitor_id),
            consent={
                "personalization": profile.consent_personalization,
                "analytics": profile.consent_analytics,
                "source": "stored",
            },
            errors=[],
        )


class Mutation:
    set_consent = SetConsent.Field()
