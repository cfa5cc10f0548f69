"""Tailor's URLs; a site adds them with one line: ``path("", include("cms.urls"))``.

This serves grapple's schema (with Tailor's queries and mutations) at ``graphql/``, so a site using
Tailor does not include ``grapple.urls`` as well, and the event beacon at ``tailor/events/``
(`navigator.sendBeacon` target; see `variants.views`).
"""

from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from graphene_django.views import GraphQLView
from grapple.schema import schema

from variants.views import beacon

app_name = "tailor_cms"

urlpatterns = [
    # The schema is passed here so a site needs no GRAPHENE["SCHEMA"] setting for Tailor.
    path("graphql/", csrf_exempt(GraphQLView.as_view(schema=schema)), name="graphql"),
    path("tailor/events/", beacon, name="events"),
]
