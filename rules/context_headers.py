"""Facts read from the request's headers: device (User-Agent, client hints), country, city, coordinates
and timezone (CDN geo headers), language (Accept-Language), campaign (the query string's utm_*).

Headers are not the client's input: a malformed one is ignored, never an error. The raw User-Agent is
reduced to a device class at once; the IP address is never read.

A server-side frontend (Next.js) calls the API from its own server: the request's headers are then the
frontend server's (``User-Agent: node``), not the visitor's. It forwards the visitor's headers instead
(`forwardedHeaders` in the API); `forwarded_request` turns them into a request-shaped object that
everything reading headers (this module, consent, the event bot check) reads exactly like a real one.
Only `FORWARDABLE_HEADERS` are kept; the visitor's IP address is not among them.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from rules.context_input import MAX_SHORT_TEXT, MAX_URL, UTM_KEYS, coordinate, parse_languages
from rules.engine import Fact, InvalidContext, get_zone
from rules.engine.context import SOURCE_HEADER
from rules.engine.device import classify_device

GEO_COUNTRY_HEADERS = ("HTTP_CF_IPCOUNTRY", "HTTP_CLOUDFRONT_VIEWER_COUNTRY", "HTTP_X_VERCEL_IP_COUNTRY")
GEO_CITY_HEADERS = ("HTTP_X_VERCEL_IP_CITY", "HTTP_CF_IPCITY", "HTTP_CLOUDFRONT_VIEWER_CITY")
# (latitude, longitude) pairs, in the order they are tried.
GEO_COORDINATE_HEADERS = (
    ("HTTP_X_VERCEL_IP_LATITUDE", "HTTP_X_VERCEL_IP_LONGITUDE"),
    ("HTTP_CF_IPLATITUDE", "HTTP_CF_IPLONGITUDE"),
    ("HTTP_CLOUDFRONT_VIEWER_LATITUDE", "HTTP_CLOUDFRONT_VIEWER_LONGITUDE"),
)
# IANA timezone names set by CDNs: Vercel, CloudFront, Cloudflare (visitor location headers).
GEO_TIMEZONE_HEADERS = ("HTTP_X_VERCEL_IP_TIMEZONE", "HTTP_CLOUDFRONT_VIEWER_TIME_ZONE", "HTTP_CF_TIMEZONE")
UNKNOWN_COUNTRY_CODES = frozenset({"XX", "T1", "ZZ"})

# What a frontend's server may forward on the visitor's behalf: everything this module, the consent
# and the event bot check read. Any other name is ignored (documented, so forwarding all is harmless).
FORWARDABLE_HEADERS = (
    "User-Agent",
    "Sec-CH-UA",
    "Sec-CH-UA-Mobile",
    "Sec-CH-UA-Platform",
    "Accept-Language",
    "Referer",
    "Sec-GPC",
    "DNT",
    "CF-IPCountry",
    "CF-IPCity",
    "CF-IPLatitude",
    "CF-IPLongitude",
    "CF-Timezone",
    "CloudFront-Viewer-Country",
    "CloudFront-Viewer-City",
    "CloudFront-Viewer-Latitude",
    "CloudFront-Viewer-Longitude",
    "CloudFront-Viewer-Time-Zone",
    "X-Vercel-IP-Country",
    "X-Vercel-IP-City",
    "X-Vercel-IP-Latitude",
    "X-Vercel-IP-Longitude",
    "X-Vercel-IP-Timezone",
)
MAX_FORWARDED_HEADERS = 40
MAX_FORWARDED_VALUE = 1024


def meta_name(header: str) -> str:
    """'Sec-GPC' -> 'HTTP_SEC_GPC', the name Django's request.META gives it."""
    return "HTTP_" + header.strip().upper().replace("-", "_")


_FORWARDABLE = {meta_name(h) for h in FORWARDABLE_HEADERS}


class ForwardedRequest:
    """The visitor's request as a frontend's server forwarded it: `META` with the kept headers, an empty
    query string. Read wherever a Django request would be."""

    forwarded = True

    def __init__(self, meta: dict[str, str]):
        self.META = meta
        self.GET: dict[str, str] = {}

    def __repr__(self) -> str:  # never log the values (the User-Agent is not kept)
        return f"<ForwardedRequest {sorted(self.META)}>"


def forwarded_request(headers, field_name: str = "forwardedHeaders") -> ForwardedRequest:
    """`headers` as (name, value) pairs or mappings with `name`/`value`; raises InvalidContext when
    there are too many or a value is too long. Unknown names are dropped; a repeated name keeps its
    first value; empty values are dropped."""
    headers = list(headers)
    if len(headers) > MAX_FORWARDED_HEADERS:
        raise InvalidContext(
            field_name,
            _("at most %(limit)d headers (got %(count)d)") % {"limit": MAX_FORWARDED_HEADERS, "count": len(headers)},
        )
    meta: dict[str, str] = {}
    for index, item in enumerate(headers):
        name, value = (item.get("name"), item.get("value")) if isinstance(item, dict) else item
        if not isinstance(name, str) or not isinstance(value, str):
            raise InvalidContext(f"{field_name}.{index}", _("expected a name and a value as text"))
        if len(value) > MAX_FORWARDED_VALUE:
            raise InvalidContext(
                f"{field_name}.{index}",
                _("%(name)s: at most %(limit)d characters (got %(length)d)")
                % {"name": name[:64], "limit": MAX_FORWARDED_VALUE, "length": len(value)},
            )
        key = meta_name(name)
        if key in _FORWARDABLE and value.strip():
            meta.setdefault(key, value)
    return ForwardedRequest(meta)


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
            add("country", code, _header_name(header))
            break
    for header in GEO_CITY_HEADERS:
        city = urllib.parse.unquote(meta.get(header) or "").strip()[:100]
        if city:
            add("city", city, _header_name(header))
            break
    for lat_header, lon_header in GEO_COORDINATE_HEADERS:
        if meta.get(lat_header) and meta.get(lon_header):
            try:
                parsed.coordinates = (
                    coordinate(float(meta[lat_header]), "latitude", 90),
                    coordinate(float(meta[lon_header]), "longitude", 180),
                )
                break
            except (ValueError, InvalidContext):
                pass  # a malformed header is not the client's input error: ignore it
    for header in GEO_TIMEZONE_HEADERS:
        zone = (meta.get(header) or "").strip()
        if zone and len(zone) <= 64:
            try:
                get_zone(zone)
            except InvalidContext:
                continue  # not an IANA name: ignore it
            add("timezone", zone, _header_name(header))
            break
    if meta.get("HTTP_ACCEPT_LANGUAGE"):
        try:
            languages = parse_languages(meta["HTTP_ACCEPT_LANGUAGE"])
        except InvalidContext:
            languages = ()
        if languages:
            add("language", languages, "Accept-Language")
    # The visitor's own Referer, forwarded: the page that sent them. A browser calling the API directly
    # sends the frontend's page instead, which says nothing about the visitor.
    referrer = (meta.get("HTTP_REFERER") or "").strip()
    if referrer and getattr(request, "forwarded", False) and len(referrer) <= MAX_URL:
        add("referrer", referrer, "Referer")
    get = getattr(request, "GET", None)
    if get:
        utm = {k: get[f"utm_{k}"][:MAX_SHORT_TEXT].lower() for k in UTM_KEYS if get.get(f"utm_{k}")}
        if utm:
            add("utm", utm, _("request query string"))
    return parsed


def _header_name(meta_key: str) -> str:
    """'HTTP_CF_IPCOUNTRY' -> 'CF-IPCountry': the header's usual spelling, for the fact's detail."""
    key = meta_key[5:]
    for header in FORWARDABLE_HEADERS:
        if meta_name(header)[5:] == key:
            return header
    return key.replace("_", "-").title()
