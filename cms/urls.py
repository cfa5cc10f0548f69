"""Tailor's URLs; a site adds them with one line: ``path("", include("cms.urls"))``.

This serves grapple's schema (with Tailor's queries and mutations) at ``graphql/``, so a site using
Tailor does not include ``grapple.urls`` as well, and the event beacon at ``tailor/events/``
(`navigator.sendBeacon` target; see `variants.views`). Browsers on the origins of
``TAILOR["CORS_ORIGINS"]`` may call both (`tailor.cors`).
"""

from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from grapple.schema import schema

from cms.editor_checks import editor_checks
from cms.graphql_view import TailorGraphQLView
from variants.views import beacon

app_name = "tailor_cms"

urlpatterns = [
    # The schema is passed here so a site needs no GRAPHENE["SCHEMA"] setting for Tailor; the view adds
    # Cache-Control and Vary (`cms.graphql_view`).
    path("graphql/", csrf_exempt(TailorGraphQLView.as_view(schema=schema)), name="graphql"),
    path("tailor/events/", beacon, name="events"),
    # the page editor's warnings for a personalized region's variants (admin users; `cms.editor_checks`)
    path("tailor/editor-checks/", editor_checks, name="editor_checks"),
]
