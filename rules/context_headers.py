"""Facts read from the request's headers: device (User-Agent, client hints), country and city (CDN geo
headers), language (Accept-Language), campaign (the query string's utm_*).

Headers are not the client's input: a malformed one is ignored, never an error. The raw User-Agent is
reduced to a device class at once; the IP address is never read.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from rules.context_input import MAX_SHORT_TEXT, UTM_KEYS, coordinate, parse_languages
from rules.engine import Fact, InvalidContext
from rules.engine.context import SOURCE_HEADER
from rules.engine.device import classify_device

GEO_COUNTRY_HEADERS = ("HTTP_CF_IPCOUNTRY", "HTTP_CLOUDFRONT_VIEWER_COUNTRY", "HTTP_X_VERCEL_IP_COUNTRY")
UNKNOWN_COUNTRY_CODES = frozenset({"XX", "T1", "ZZ"})


@dataclass
class ParsedHeaders:
    facts: list[Fact]
    # A private signal: used by providers, never echoed, stored or logged.
    coordinates: tuple[float, float] | None = field(default=None, repr=False)


def parse_headers(request) -> ParsedHeaders:
    meta = getattr(request, "META", None) or {}
    parsed = ParsedHeaders([])

    def add(name: str, value: object, detail: str) -> None:
        parsed.facts.append(Fact(name, value, SOURCE_HEADER, detail))

    ua = meta.get("HTTP_USER_AGENT")
    device = classify_device(ua, meta.get("HTTP_SEC_CH_UA_MOBILE"), meta.get("HTTP_SEC_CH_UA_PLATFORM"))
    if device:
        add("device", device, _("User-Agent / client hints"))
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
    if meta.get("HTTP_X_VERCEL_IP_LATITUDE") and meta.get("HTTP_X_VERCEL_IP_LONGITUDE"):
        try:
            parsed.coordinates = (
                coordinate(float(meta["HTTP_X_VERCEL_IP_LATITUDE"]), "latitude", 90),
                coordinate(float(meta["HTTP_X_VERCEL_IP_LONGITUDE"]), "longitude", 180),
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
            add("utm", utm, _("request query string"))
    return parsed
