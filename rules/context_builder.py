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
"""

from __future__ import annotations

import logging
import math
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rules.engine import Context, Fact, InvalidContext, get_zone
from rules.engine.context import SOURCE_HEADER, SOURCE_INPUT, SOURCE_PROFILE, SOURCE_PROVIDER, SOURCE_SERVER, utcnow
from rules.engine.device import classify_device
from rules.engine.geo import resolve_country
from rules.engine.vocabulary import DEVICE_CLASSES, EMOTION_LABELS
from tailor.settings import on_reload, tailor_settings

logger = logging.getLogger("tailor.context")

# Bounds on `now`: a preview may look a few years ahead or back, not centuries.
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_SHORT_TEXT = 200
MAX_URL = 2048
MAX_QUERY_PARAMS = 50
MAX_LANGUAGES = 10
UTM_KEYS = ("source", "medium", "campaign", "term", "content")
GEO_COUNTRY_HEADERS = ("HTTP_CF_IPCOUNTRY", "HTTP_CLOUDFRONT_VIEWER_COUNTRY", "HTTP_X_VERCEL_IP_COUNTRY")
UNKNOWN_COUNTRY_CODES = frozenset({"XX", "T1", "ZZ"})


@dataclass(frozen=True)
class Consent:
    personalization: bool
    analytics: bool
    source: str

    def as_dict(self) -> dict[str, Any]:
        return {"personalization": self.personalization, "analytics": self.analytics, "source": self.source}


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


# --- validation helpers -----------------------------------------------------------------------


def _short_text(value: Any, name: str, limit: int = MAX_SHORT_TEXT) -> str:
    if not isinstance(value, str):
        raise InvalidContext(name, f"expected text, got {type(value).__name__}")
    value = value.strip()
    if len(value) > limit:
        raise InvalidContext(name, f"at most {limit} characters (got {len(value)})")
    return value


def _coordinate(value: Any, name: str, limit: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidContext(name, f"expected a number, got {value!r}")
    if not -limit <= value <= limit:
        raise InvalidContext(name, f"must be between -{limit:g} and {limit:g} (got {value:g})")
    return float(value)


def parse_languages(value: str, name: str = "language") -> tuple[str, ...]:
    """'ko-KR,ko;q=0.9,en;q=0.8' -> ('ko-KR', 'ko', 'en'), by preference; bounded."""
    value = _short_text(value, name, 500)
    weighted = []
    for i, part in enumerate(value.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not tag or tag == "*" or len(tag) > 35 or not all(c.isalnum() or c == "-" for c in tag):
            continue
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        if q > 0:
            weighted.append((-q, i, tag))
    return tuple(tag for _, _, tag in sorted(weighted))[:MAX_LANGUAGES]


def _country(value: Any, name: str) -> str:
    value = _short_text(value, name, 100)
    code = resolve_country(value)
    if code is None:
        raise InvalidContext(name, f"unknown country {value!r}; use an ISO 3166 code such as 'KR'")
    return code


def _query(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidContext("query", "expected a JSON object of query parameters")
    if len(value) > MAX_QUERY_PARAMS:
        raise InvalidContext("query", f"at most {MAX_QUERY_PARAMS} parameters (got {len(value)})")
    out = {}
    for k, v in value.items():
        if isinstance(v, list):
            v = v[0] if v else ""
        if not isinstance(v, (str, int, float, bool)):
            raise InvalidContext(f"query.{k}", "expected a text value")
        key = _short_text(str(k), "query", 100)
        out[key] = _short_text(str(v), f"query.{key}", 500)
    return out


def _traits(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidContext("traits", "expected a JSON object of key/value pairs")
    limit = int(tailor_settings.MAX_TRAITS)
    if len(value) > limit:
        raise InvalidContext("traits", f"at most {limit} traits (got {len(value)})")
    out = {}
    for k, v in value.items():
        key = _short_text(str(k), "traits", 64)
        if isinstance(v, str):
            v = _short_text(v, f"traits.{key}")
        elif isinstance(v, float) and not math.isfinite(v):
            raise InvalidContext(f"traits.{key}", "expected a finite number")
        elif not isinstance(v, (int, float, bool)):
            raise InvalidContext(f"traits.{key}", "expected text, a number or true/false")
        out[key] = v
    return out


def _utm_from(query: Mapping[str, str]) -> dict[str, str]:
    return {k: query[f"utm_{k}"].lower() for k in UTM_KEYS if query.get(f"utm_{k}")}


def _enum_value(value: Any) -> str:
    return str(getattr(value, "value", value)).lower()


# --- the layers ---------------------------------------------------------------------------------


def _input_facts(data: Mapping[str, Any], rc: RequestContext) -> list[Fact]:
    facts: list[Fact] = []

    def add(name: str, value: Any, detail: str = "") -> None:
        facts.append(Fact(name, value, SOURCE_INPUT, detail))

    if data.get("timezone") is not None:
        get_zone(data["timezone"])  # raises InvalidContext("timezone", ...)
        add("timezone", data["timezone"])
    now = data.get("now")
    if now is not None:
        if not isinstance(now, datetime):
            raise InvalidContext("now", f"expected an ISO 8601 date-time, got {now!r}")
        if not (MIN_YEAR <= now.year <= MAX_YEAR):
            raise InvalidContext("now", f"year {now.year} is outside {MIN_YEAR}-{MAX_YEAR}")
        add("now", now)
    if data.get("country") is not None:
        add("country", _country(data["country"], "country"))
    if data.get("city") is not None:
        add("city", _short_text(data["city"], "city", 100))

    lat, lon = data.get("latitude"), data.get("longitude")
    if (lat is None) != (lon is None):
        raise InvalidContext("latitude" if lat is None else "longitude", "give latitude and longitude together")
    if lat is not None:
        rc.coordinates = (_coordinate(lat, "latitude", 90), _coordinate(lon, "longitude", 180))

    if data.get("weather") is not None:
        from rules.providers.weather import weather_from_input

        raw = dict(data["weather"])
        if raw.get("condition") is not None:
            raw["condition"] = _enum_value(raw["condition"])
        raw = {k: v for k, v in raw.items() if v is not None}
        w = weather_from_input(raw)
        add("weather", {"condition": w.condition, "temperature_c": w.temperature_c}, "sent by the frontend")
        rc.weather_sent = True

    if data.get("device") is not None:
        device = _enum_value(data["device"])
        if device not in DEVICE_CLASSES:
            raise InvalidContext("device", f"unknown device {device!r}")
        add("device", device)
    elif data.get("user_agent") is not None:
        device = classify_device(_short_text(data["user_agent"], "userAgent", 1024))
        if device:
            add("device", device, "from userAgent")

    if data.get("language") is not None:
        languages = parse_languages(data["language"])
        if not languages:
            raise InvalidContext("language", f"no language tag in {data['language']!r}")
        add("language", languages)
    if data.get("referrer") is not None:
        add("referrer", _short_text(data["referrer"], "referrer", MAX_URL))

    query = _query(data.get("query"))
    if data.get("query") is not None:
        add("query", query)
    if data.get("utm") is not None:
        utm = {k: _short_text(v, f"utm.{k}").lower() for k, v in dict(data["utm"]).items() if v}
        add("utm", utm)
    elif query:
        add("utm", _utm_from(query), "from query")

    if data.get("text") is not None:
        text = data["text"]
        if not isinstance(text, str):
            raise InvalidContext("text", "expected text")
        limit = int(tailor_settings.MAX_TEXT_LENGTH)
        if len(text) > limit:
            raise InvalidContext("text", f"at most {limit} characters (got {len(text)})")
        rc.text = text
    if data.get("emotion") is not None:
        label = _enum_value(data["emotion"])
        if label not in EMOTION_LABELS:
            raise InvalidContext("emotion", f"unknown emotion {label!r}")
        add("emotion", {"label": label, "confidence": 1.0})
    if data.get("traits") is not None:
        add("traits", _traits(data["traits"]))
    return facts


def _header_facts(request, rc: RequestContext) -> list[Fact]:
    meta = getattr(request, "META", None) or {}
    facts: list[Fact] = []

    def add(name: str, value: Any, detail: str) -> None:
        facts.append(Fact(name, value, SOURCE_HEADER, detail))

    ua = meta.get("HTTP_USER_AGENT")
    device = classify_device(ua, meta.get("HTTP_SEC_CH_UA_MOBILE"), meta.get("HTTP_SEC_CH_UA_PLATFORM"))
    if device:
        add("device", device, "User-Agent / client hints")
    for header in GEO_COUNTRY_HEADERS:
        code = (meta.get(header) or "").strip().upper()
        if len(code) == 2 and code.isalpha() and code not in UNKNOWN_COUNTRY_CODES:
            add("country", code, header[5:].replace("_", "-").title())
            break
    city = meta.get("HTTP_X_VERCEL_IP_CITY")
    if city:
        city = urllib.parse.unquote(city).strip()[:100]
        if city:
            add("city", city, "X-Vercel-IP-City")
    if rc.coordinates is None and meta.get("HTTP_X_VERCEL_IP_LATITUDE") and meta.get("HTTP_X_VERCEL_IP_LONGITUDE"):
        try:
            rc.coordinates = (
                _coordinate(float(meta["HTTP_X_VERCEL_IP_LATITUDE"]), "latitude", 90),
                _coordinate(float(meta["HTTP_X_VERCEL_IP_LONGITUDE"]), "longitude", 180),
            )
        except (ValueError, InvalidContext):
            pass  # a malformed header is not the client's input error: ignore it
    if meta.get("HTTP_ACCEPT_LANGUAGE"):
        try:
            languages = parse_languages(meta["HTTP_ACCEPT_LANGUAGE"])
        except InvalidContext:
            languages = ()
        if languages:
            add("language", languages, "Accept-Language")
    get = getattr(request, "GET", None)
    if get:
        utm = {k: get[f"utm_{k}"][:MAX_SHORT_TEXT].lower() for k in UTM_KEYS if get.get(f"utm_{k}")}
        if utm:
            add("utm", utm, "request query string")
    return facts


def resolve_consent(request, data: Mapping[str, Any], stored: Consent | None) -> Consent:
    meta = getattr(request, "META", None) or {}
    if meta.get("HTTP_SEC_GPC", "").strip() == "1":
        return Consent(False, False, "Sec-GPC")
    if meta.get("HTTP_DNT", "").strip() == "1":
        return Consent(False, False, "DNT")
    given = data.get("consent")
    if given is not None:
        return Consent(bool(given.get("personalization")), bool(given.get("analytics")), SOURCE_INPUT)
    if stored is not None:
        return stored
    default = tailor_settings.DEFAULT_CONSENT or {}
    return Consent(bool(default.get("personalization")), bool(default.get("analytics")), "default")


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
    facts: dict[str, Fact] = {}
    for layer in (_input_facts(data, rc), _header_facts(request, rc), _server_facts()):
        for fact in layer:  # earlier layers win
            facts.setdefault(fact.name, fact)
    rc.ctx = Context(facts)
    return rc


def _server_facts() -> list[Fact]:
    facts = [Fact("now", utcnow(), SOURCE_SERVER)]
    default_tz = tailor_settings.DEFAULT_TIMEZONE
    if default_tz:
        facts.append(Fact("timezone", default_tz, SOURCE_SERVER, "TAILOR['DEFAULT_TIMEZONE']"))
    return facts


# --- providers, profile and segments ------------------------------------------------------------

_weather_provider = None
_provider_lock = threading.Lock()


def weather_provider():
    global _weather_provider
    if not tailor_settings.WEATHER_ENABLED:
        return None
    if _weather_provider is None:
        with _provider_lock:
            if _weather_provider is None:
                from rules.providers.weather import OpenMeteoProvider, weather_cache
                from tailor.redis import get_redis

                _weather_provider = OpenMeteoProvider(
                    tailor_settings.WEATHER_URL,
                    timeout=float(tailor_settings.WEATHER_TIMEOUT),
                    cache=weather_cache(get_redis(), prefix=tailor_settings.REDIS_PREFIX + "weather:"),
                    ttl=float(tailor_settings.WEATHER_CACHE_SECONDS),
                )
    return _weather_provider


def _reset_providers() -> None:
    global _weather_provider
    _weather_provider = None


on_reload(_reset_providers)


def _provider_facts(rc: RequestContext, needed: frozenset[str]) -> list[Fact]:
    facts = []
    ctx = rc.ctx
    if "weather" in needed and "weather" not in ctx and rc.coordinates is not None:
        provider = weather_provider()
        if provider is not None:
            w = provider.current(*rc.coordinates)
            if w is not None:
                cell = provider.cell(*rc.coordinates)
                facts.append(
                    Fact(
                        "weather",
                        {"condition": w.condition, "temperature_c": w.temperature_c},
                        SOURCE_PROVIDER,
                        f"Open-Meteo, cell {cell}",
                    )
                )
    if "emotion" in needed and "emotion" not in ctx and rc.text and rc.consent.personalization:
        from rules.ml.emotion import classify

        result = classify(rc.text)
        facts.append(
            Fact(
                "emotion",
                {"label": result.label, "confidence": round(result.confidence, 4)},
                SOURCE_PROVIDER,
                "emotion classifier (text not kept)",
            )
        )
    return facts


def _profile_facts(rc: RequestContext, record_view: bool) -> list[Fact]:
    if not (rc.consent.personalization and rc.visitor_id):
        return []
    from rules.profiles import Profile, profile_store

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


def enrich(rc: RequestContext, needed: frozenset[str], *, record_view: bool = True) -> Context:
    """Add provider facts the page needs, the consented profile and segments; returns the context."""
    from rules.segments import segment_index

    index = segment_index()
    if rc.consent.personalization:
        needed = needed | index.facts
    extra = _provider_facts(rc, needed) + _profile_facts(rc, record_view)
    ctx = rc.ctx.with_facts(*[f for f in extra if f.name not in rc.ctx or rc.ctx.fact(f.name).source == SOURCE_SERVER])
    if rc.consent.personalization and "segments" not in ctx:
        members = index.members(ctx, rc.profile)
        ctx = ctx.with_facts(Fact("segments", members, "segments", "segment rules"))
    rc.ctx = ctx
    return ctx
