"""The ``/graphql/`` view: graphene-django's, with HTTP caching headers a headless frontend and a CDN
can trust.

- ``GET /graphql/?query=...`` answers ``Cache-Control: public, max-age=TAILOR["GRAPHQL_CACHE_SECONDS"]``
  (default 60) when nothing visitor-specific went into it: grapple's ``page``, ``pages``, images,
  ``explainDecision``... are the same for everyone who sends the same URL.
- ``Cache-Control: private, no-store`` when something was: a resolver sets
  ``request.tailor_private = True`` (``personalizedPage`` and the visitor's mutations do), the request
  carries an ``Authorization`` header, or the answer read a logged-in session (a Wagtail editor's
  cookie); and on any error (a GraphQL error, a 400, a 405), so a shared cache never keeps one.
- every ``POST``: ``private, no-store`` (shared caches do not store POST answers anyway; this says so
  to browsers and proxies that might).
- always ``Vary: Accept-Language``: reasons and other texts are translated.
- every input error carries ``extensions.field`` (`cms.graphql_errors`), also those graphql-core finds
  before a resolver runs (a literal of the wrong type, a variable that does not coerce).

GET runs queries only: graphene-django refuses a mutation sent by GET (405, "Can only perform a
mutation operation from a POST request"), so a cacheable URL never changes anything.

graphene-django's view sets a CSRF cookie on every answer (``ensure_csrf_cookie``). This view is
CSRF-exempt (a frontend's server and other origins call it; nothing here rides on a session cookie),
so that cookie serves nothing, and a ``Set-Cookie`` (with its ``Vary: Cookie``) would keep CDNs from
caching the answer and could hand one visitor's cookie to another: this view leaves it out.
"""

from __future__ import annotations

from django.utils.cache import patch_vary_headers
from graphene_django.views import GraphQLView

from cms.graphql_errors import name_input_fields
from tailor.settings import tailor_settings

PRIVATE = "private, no-store"

# graphene-django's dispatch without its `ensure_csrf_cookie` decorator (method_decorator keeps the
# undecorated function as __wrapped__); the decorated one if a version ever stops doing that.
_dispatch = getattr(GraphQLView.dispatch, "__wrapped__", GraphQLView.dispatch)


def _visitor_specific(request) -> bool:
    """Did something about this visitor, beyond the URL, go into the answer?"""
    if getattr(request, "tailor_private", False):
        return True
    if "HTTP_AUTHORIZATION" in request.META:
        return True
    session = getattr(request, "session", None)
    # Read (e.g. by a resolver checking request.user) and holding something: a logged-in user's answer.
    return session is not None and session.accessed and not session.is_empty()


class TailorGraphQLView(GraphQLView):
    def dispatch(self, request, *args, **kwargs):
        response = _dispatch(self, request, *args, **kwargs)
        public = (
            request.method == "GET"
            and response.status_code == 200
            and not getattr(request, "tailor_graphql_errors", False)
            and not _visitor_specific(request)
        )
        if public:
            response["Cache-Control"] = f"public, max-age={int(tailor_settings.GRAPHQL_CACHE_SECONDS)}"
        else:
            response["Cache-Control"] = PRIVATE
        patch_vary_headers(response, ("Accept-Language",))
        return response

    def execute_graphql_request(self, request, data, query, *args, **kwargs):
        result = super().execute_graphql_request(request, data, query, *args, **kwargs)
        if result is not None and result.errors:
            request.tailor_graphql_errors = True
            name_input_fields(result.errors, query)  # one error shape: every input error names its field
        return result
