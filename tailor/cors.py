"""CORS for Tailor's two browser-facing URLs, ``/graphql/`` and ``/tailor/events/``, preflight included.

A frontend served from another origin (a Next.js app on http://127.0.0.1:3000 beside Django on :8000)
calls them from the visitor's browser; the browser sends an ``OPTIONS`` preflight first for a JSON
POST and refuses the answer of any call without ``Access-Control-Allow-Origin``. django-cors-headers
does the protocol (its middleware answers preflights and adds the headers); Tailor only tells it,
through its ``check_request_enabled`` signal, which requests to allow: those to one of Tailor's two
URLs (by URL name, ``tailor_cms:graphql`` and ``tailor_cms:events``, wherever a site mounts them)
from an origin in ``TAILOR["CORS_ORIGINS"]``.

A site therefore needs no ``CORS_*`` Django setting: it installs the middleware, as high as it can go
(before anything that can answer a request, e.g. CommonMiddleware and WhiteNoise)::

    INSTALLED_APPS += ["corsheaders"]
    MIDDLEWARE = ["corsheaders.middleware.CorsMiddleware", *MIDDLEWARE]
    TAILOR = {"CORS_ORIGINS": ["https://www.example.com"]}

and every other URL of the site keeps whatever CORS policy the site's own ``CORS_*`` settings give it
(none by default). django-cors-headers' defaults apply to the allowed requests: the methods include
GET, POST and OPTIONS, the request headers ``content-type`` (a JSON POST's), ``authorization`` and
``user-agent``, preflights are cached by the browser for a day, and no credentials (cookies) are
allowed: Tailor's visitor and decision tokens travel in the body, not in cookies.

Why the signal and not ``CORS_ALLOWED_ORIGINS`` + ``CORS_URLS_REGEX``: those are site-wide Django
settings (one list of origins, one regex for the whole site), which a plugin must not take over; a
regex would also repeat the paths that ``cms.urls`` and the site's URLconf already define, and break
when a site mounts Tailor under a prefix. The signal is called only for requests that carry an
``Origin`` header (with corsheaders' default ``CORS_URLS_REGEX``), and costs a URL resolution then.

This module is part of the foundation: it imports no other Tailor package (the URL names are
strings); `cms.apps` connects it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.urls import Resolver404, resolve

from tailor.settings import tailor_settings

#: the URL namespace and names of the views that browsers call across origins (see cms/urls.py)
APP_NAME = "tailor_cms"
URL_NAMES = frozenset({"graphql", "events"})
MIDDLEWARE = "corsheaders.middleware.CorsMiddleware"


def origin_allowed(origin: str | None) -> bool:
    """Is `origin` (an Origin header) one of ``TAILOR["CORS_ORIGINS"]``?"""
    if not origin:
        return False
    allowed = tailor_settings.CORS_ORIGINS
    if not allowed:
        return False
    try:
        url = urlsplit(origin)
    except ValueError:
        return False
    return f"{url.scheme}://{url.netloc}".lower() in allowed


def is_tailor_url(request) -> bool:
    """Does `request` go to one of Tailor's cross-origin URLs (by URL name)?"""
    match = getattr(request, "resolver_match", None)
    if match is None:
        try:
            match = resolve(request.path_info, getattr(request, "urlconf", None))
        except Resolver404:
            return False
    return match.url_name in URL_NAMES and APP_NAME in match.app_names


def allow_tailor_requests(sender, request, **kwargs) -> bool:
    """corsheaders' ``check_request_enabled`` receiver: allow an allowed origin on Tailor's URLs."""
    return origin_allowed(request.headers.get("origin")) and is_tailor_url(request)


def check_middleware(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """System checks: origins are configured but nothing would send the CORS headers, or a site-wide
    ``CORS_ALLOW_HEADERS`` leaves out content-type (a frontend's JSON POST would fail its preflight)."""
    if not tailor_settings.CORS_ORIGINS:
        return []
    if MIDDLEWARE not in (getattr(settings, "MIDDLEWARE", None) or ()):
        return [
            checks.Warning(
                'TAILOR["CORS_ORIGINS"] is set but django-cors-headers\' middleware is not installed, so '
                "browsers will refuse cross-origin calls to /graphql/ and /tailor/events/.",
                hint=f'Add "corsheaders" to INSTALLED_APPS and "{MIDDLEWARE}" at the top of MIDDLEWARE.',
                id="tailor.W001",
            )
        ]
    # Read through corsheaders' own accessor, which applies its defaults; imported here, where the
    # middleware is known to be installed (see `connect` on importing the library).
    from corsheaders.conf import conf

    if "content-type" not in {h.lower() for h in conf.CORS_ALLOW_HEADERS}:
        return [
            checks.Warning(
                "CORS_ALLOW_HEADERS leaves out content-type: browsers will refuse a frontend's JSON POST "
                "to /graphql/ and /tailor/events/.",
                hint='Add "content-type" to CORS_ALLOW_HEADERS, or drop the setting to use the defaults.',
                id="tailor.W002",
            )
        ]
    return []


def connect() -> None:
    """Hook Tailor's CORS policy into django-cors-headers (called once, from an AppConfig.ready())."""
    # django-cors-headers' signal module needs no app registry; imported here so that merely importing
    # this module (e.g. for `origin_allowed`) does not need the library.
    from corsheaders.signals import check_request_enabled

    check_request_enabled.connect(allow_tailor_requests, dispatch_uid="tailor-cors")
    checks.register(check_middleware, checks.Tags.security)
