"""The ``/graphql/`` view: graphene-django's, with bounded cost, strict request parsing, one error
shape, and HTTP caching headers a headless frontend and a CDN can trust.

Caching:

- ``GET /graphql/?query=...`` answers ``Cache-Control: public, max-age=TAILOR["GRAPHQL_CACHE_SECONDS"]``
  (default 60) when nothing visitor-specific went into it: grapple's ``page``, ``pages``, images,
  ``explainDecision``... are the same for everyone who sends the same URL.
- ``Cache-Control: private, no-store`` when something was: a resolver sets
  ``request.tailor_private = True`` (``personalizedPage`` and the visitor's mutations do), the request
  carries an ``Authorization`` header, or the answer read a logged-in session (a Wagtail editor's
  cookie); and on any error (a GraphQL error, a 4xx, a 5xx), so a shared cache never keeps one.
- every ``POST``: ``private, no-store`` (shared caches do not store POST answers anyway; this says so
  to browsers and proxies that might).
- always ``Vary: Accept-Language``: reasons and other texts are translated.

GET never changes anything: a document holding a mutation (or a subscription) is refused by GET with
a 405, whatever ``operationName`` says, and ``personalizedPage`` over GET records no visit and stores
no profile or consent (`variants.schema`).

Bounded cost (`cms.graphql_limits`, ``TAILOR["GRAPHQL_LIMITS"]``): body size, persisted operations,
token count, depth, aliases and cost are checked before anything runs; a request over a limit gets a
4xx naming it. Weather lookups are budgeted per request (`rules.request_budget`).

Malformed requests are 4xx with a message saying what was wrong: a body that is not UTF-8 or not JSON,
JSON that is not an object, ``variables`` that are not an object, an unsupported content type (415),
an empty body, one over the limit (413).

Errors: every input error carries ``extensions.field`` (`cms.graphql_errors`), also those graphql-core
finds before a resolver runs. An unexpected error (an exception in Tailor, grapple, graphene or Django
code, a non-null field resolving to null) reaches the client as a generic message with
``extensions.code = INTERNAL_SERVER_ERROR`` and ``extensions.requestId``; the server's log (logger
``tailor.graphql``) gets the traceback under that id. Every answer carries the id in ``X-Request-ID``
(the caller's own ``X-Request-ID`` when it sends a sane one).

graphene-django's view sets a CSRF cookie on every answer (``ensure_csrf_cookie``). This view is
CSRF-exempt (a frontend's server and other origins call it; nothing here rides on a session cookie),
so that cookie serves nothing, and a ``Set-Cookie`` (with its ``Vary: Cookie``) would keep CDNs from
caching the answer and could hand one visitor's cookie to another: this view leaves it out.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections import OrderedDict

from django.db import connection, transaction
from django.http import HttpResponse, HttpResponseNotAllowed
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from graphene_django.constants import MUTATION_ERRORS_FLAG
from graphene_django.settings import graphene_settings
from graphene_django.views import GraphQLView, HttpError
from graphql import (
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    get_operation_ast,
    parse,
    validate,
    validate_schema,
)
from graphql.validation.validate import ValidationAbortedError

from cms.graphql_errors import name_input_fields, public_errors
from cms.graphql_limits import (
    MAX_VALIDATION_ERRORS,
    limit_error,
    limits,
    persisted_documents,
    persisted_query,
    standard_rules,
    validation_rules,
)
from rules.request_budget import request_budget
from tailor.settings import tailor_settings

logger = logging.getLogger("tailor.graphql")

PRIVATE = "private, no-store"
JSON_TYPES = ("application/json", "application/graphql")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

# graphene-django's dispatch without its `ensure_csrf_cookie` decorator (method_decorator keeps the
# undecorated function as __wrapped__); the decorated one if a version ever stops doing that.
_dispatch = getattr(GraphQLView.dispatch, "__wrapped__", GraphQLView.dispatch)


class ValidDocuments:
    """Documents already parsed and found valid, by their text and the limits they were checked
    against: a frontend sends the same few operations over and over, and parsing and validating them
    costs more than running them. Bounded: at most `size` documents, each of at most `max_text`
    characters (longer ones are checked every time); least recently used first out."""

    def __init__(self, size: int = 256, max_text: int = 16 * 1024):
        self.size, self.max_text = size, max_text
        self._documents: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            document = self._documents.get(key)
            if document is not None:
                self._documents.move_to_end(key)
            return document

    def put(self, key, document) -> None:
        if len(key[0]) > self.max_text:
            return
        with self._lock:
            self._documents[key] = document
            self._documents.move_to_end(key)
            while len(self._documents) > self.size:
                self._documents.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._documents.clear()


valid_documents = ValidDocuments()


class Refused(HttpError):
    """A request refused before any GraphQL ran: a 4xx whose one error says why (and `code`)."""

    def __init__(self, status: int, message: str, code: str, **extensions):
        response = HttpResponseNotAllowed(["POST"]) if status == 405 else HttpResponse(status=status)
        super().__init__(response, message)
        self.extensions = {"code": code, **extensions}


def _visitor_specific(request) -> bool:
    """Did something about this visitor, beyond the URL, go into the answer?"""
    if getattr(request, "tailor_private", False):
        return True
    if "HTTP_AUTHORIZATION" in request.META:
        return True
    session = getattr(request, "session", None)
    # Read (e.g. by a resolver checking request.user) and holding something: a logged-in user's answer.
    return session is not None and session.accessed and not session.is_empty()


def _request_id(request) -> str:
    given = request.META.get("HTTP_X_REQUEST_ID", "")
    return given if _REQUEST_ID.match(given) else uuid.uuid4().hex[:16]


def internal_error_json(request_id: str) -> dict:
    return {
        "message": _("Internal error; the server's log has the details under request id %(id)s") % {"id": request_id},
        "extensions": {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id},
    }


class TailorGraphQLView(GraphQLView):
    def dispatch(self, request, *args, **kwargs):
        request_id = request.tailor_request_id = _request_id(request)
        try:
            with request_budget():  # providers' calls per request (weather lookups)
                response = _dispatch(self, request, *args, **kwargs)
        except Exception:
            # Anything the view or graphene-django did not expect: logged with its id, never a bare 500.
            logger.exception("GraphQL request %s failed", request_id)
            response = HttpResponse(
                json.dumps({"errors": [internal_error_json(request_id)]}), status=500, content_type="application/json"
            )
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
        response["X-Request-ID"] = request_id
        retry_after = getattr(request, "tailor_retry_after", None)
        if retry_after:
            response["Retry-After"] = str(retry_after)
        return response

    # --- the request -----------------------------------------------------------------------------

    def parse_body(self, request):
        limit = limits()["MAX_BODY_BYTES"]
        if request.method != "POST":
            if len(request.META.get("QUERY_STRING", "")) > limit:
                raise self._too_large(limit, _("query string"))
            return {}
        content_type = self.get_content_type(request)
        if not request.META.get("CONTENT_LENGTH"):
            if "query" in request.GET:
                return {}  # POST /graphql/?query=...
            raise Refused(400, _("the body is empty: send a GraphQL document"), "BAD_REQUEST")
        if content_type not in JSON_TYPES + FORM_TYPES:
            raise Refused(
                415,
                _("unsupported content type %(type)s: send application/json (or application/graphql)")
                % {"type": _clip(content_type or _("(none)"))},
                "UNSUPPORTED_MEDIA_TYPE",
            )
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            raise self._too_large(limit, _("body"))
        if content_type in FORM_TYPES:
            return request.POST
        body = request.body
        if len(body) > limit:
            raise self._too_large(limit, _("body"))
        if not body.strip():
            raise Refused(400, _("the body is empty: send a GraphQL document"), "BAD_REQUEST")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise Refused(
                400,
                _("the body is not UTF-8 text (invalid byte at position %(position)d)") % {"position": e.start},
                "BAD_REQUEST",
            ) from None
        if content_type == "application/graphql":
            return {"query": text}
        try:
            data = json.loads(text)
        except ValueError as e:
            raise Refused(
                400, _("the body is not valid JSON: %(error)s") % {"error": _clip(str(e))}, "BAD_REQUEST"
            ) from None
        if not isinstance(data, dict):
            raise Refused(
                400,
                _("the body must be a JSON object with query, variables and operationName, not %(type)s")
                % {"type": type(data).__name__},
                "BAD_REQUEST",
            )
        return data

    @staticmethod
    def _too_large(limit: int, what: str) -> Refused:
        return Refused(
            413,
            _("the %(what)s is larger than %(limit)d bytes (GRAPHQL_LIMITS.MAX_BODY_BYTES)")
            % {"what": what, "limit": limit},
            "LIMIT_EXCEEDED",
            limit="MAX_BODY_BYTES",
        )

    @staticmethod
    def get_graphql_params(request, data):
        query = request.GET.get("query") or data.get("query")
        variables = request.GET.get("variables") or data.get("variables")
        operation_name = request.GET.get("operationName") or data.get("operationName")
        if query is not None and not isinstance(query, str):
            raise Refused(400, _("query must be a string holding a GraphQL document"), "BAD_REQUEST")
        if isinstance(variables, str):
            try:
                variables = json.loads(variables) if variables.strip() else None
            except ValueError:
                raise Refused(400, _("variables are not valid JSON"), "BAD_REQUEST") from None
        if variables is not None and not isinstance(variables, dict):
            raise Refused(400, _("variables must be a JSON object"), "BAD_REQUEST")
        if operation_name == "null":
            operation_name = None
        if operation_name is not None and not isinstance(operation_name, str):
            raise Refused(400, _("operationName must be a string"), "BAD_REQUEST")
        return query, variables, operation_name, request.GET.get("id") or data.get("id")

    @staticmethod
    def format_error(error):
        if isinstance(error, Refused):
            return {"message": error.message, "extensions": error.extensions}
        if isinstance(error, GraphQLError):
            return error.formatted
        return {"message": str(error)}

    # --- the document ----------------------------------------------------------------------------

    def execute_graphql_request(self, request, data, query, variables, operation_name, show_graphiql=False):
        if persisted_documents() is not None:
            try:
                query = persisted_query(_params(request, data), query)
            except GraphQLError as e:
                return self._answer(request, ExecutionResult(errors=[e]), None)
        if not query:
            raise Refused(400, _("Must provide query string."), "BAD_REQUEST")
        bounds = limits()
        key = (query, tuple(sorted(bounds.items())), bool(tailor_settings.GRAPHQL_INTROSPECTION))
        document = valid_documents.get(key)
        if document is None:
            try:
                document = parse(query, max_tokens=bounds["MAX_TOKENS"])
            except GraphQLError as e:
                if "tokens" in e.message and "Parsing aborted" in e.message:
                    e = limit_error(
                        "MAX_TOKENS",
                        _("the document has more than %(limit)d tokens (GRAPHQL_LIMITS.MAX_TOKENS)")
                        % {"limit": bounds["MAX_TOKENS"]},
                    )
                return self._answer(request, ExecutionResult(errors=[e]), None)  # nothing to name: no document
        if request.method == "GET":
            for definition in document.definitions:
                if isinstance(definition, OperationDefinitionNode) and definition.operation != OperationType.QUERY:
                    raise Refused(
                        405,
                        _("Can only perform a %(operation)s operation from a POST request (GET runs queries only)")
                        % {"operation": definition.operation.value},
                        "METHOD_NOT_ALLOWED",
                    )
        if valid_documents.get(key) is None:
            schema = self.schema.graphql_schema
            refused = validate(schema, document, validation_rules(), max_errors=MAX_VALIDATION_ERRORS)
            if refused:
                return self._answer(request, ExecutionResult(errors=refused), query, document)
            # graphql-core's own rules, the overlap check bounded (what graphene-django would run)
            invalid = validate(schema, document, standard_rules(), max_errors=graphene_settings.MAX_VALIDATION_ERRORS)
            if invalid:
                return self._answer(request, ExecutionResult(errors=invalid), query, document)
            valid_documents.put(key, document)
        result = self._execute(request, document, variables, operation_name)
        return self._answer(request, result, query, document)

    def _execute(self, request, document, variables, operation_name) -> ExecutionResult:
        """graphene-django's execution of a document that is parsed and valid already (its own
        `execute_graphql_request` would parse and validate it again)."""
        schema = self.schema.graphql_schema
        schema_errors = validate_schema(schema)  # computed once per schema by graphql-core
        if schema_errors:
            return ExecutionResult(data=None, errors=schema_errors)
        options = {
            "root_value": self.get_root_value(request),
            "context_value": self.get_context(request),
            "variable_values": variables,
            "operation_name": operation_name,
            "middleware": self.get_middleware(request),
        }
        if self.execution_context_class:
            options["execution_context_class"] = self.execution_context_class
        try:
            operation = get_operation_ast(document, operation_name)
            atomic = graphene_settings.ATOMIC_MUTATIONS is True or (
                connection.settings_dict.get("ATOMIC_MUTATIONS", False) is True
            )
            if operation is not None and operation.operation == OperationType.MUTATION and atomic:
                with transaction.atomic():
                    result = execute(schema, document, **options)
                    if getattr(request, MUTATION_ERRORS_FLAG, False) is True:
                        transaction.set_rollback(True)
                return result
            return execute(schema, document, **options)
        except Exception as e:  # noqa: BLE001 - graphene-django's contract: an error in the result
            return ExecutionResult(errors=[e])

    @staticmethod
    def _answer(request, result, query, document=None):
        if result is not None and result.errors:
            request.tailor_graphql_errors = True
            result.errors = [_aborted_as_limit(e) for e in result.errors]
            result.errors = public_errors(result.errors, request.tailor_request_id, logger)
            # one error shape: every input error names its field
            name_input_fields(result.errors, None if document else query, document)
            retry = [(e.extensions or {}).get("retryAfter") for e in result.errors]
            retry = [r for r in retry if isinstance(r, int)]
            if retry:
                request.tailor_retry_after = max(retry)
        return result


def _params(request, data) -> dict:
    """`documentId` and `extensions` from the body (JSON or a form), else from the query string."""

    def pick(key: str):
        value = data.get(key) if hasattr(data, "get") else None
        return value if value is not None else request.GET.get(key)

    extensions = pick("extensions")
    if isinstance(extensions, str):
        try:
            extensions = json.loads(extensions)
        except ValueError:
            extensions = None
    return {"documentId": pick("documentId"), "extensions": extensions}


def _aborted_as_limit(error):
    """graphql-core gave up validating (`OVERLAP_BUDGET` spent): say which limit that is."""
    if not isinstance(error, ValidationAbortedError):
        return error
    return limit_error(
        "MAX_COST",
        _("the document repeats fields under one name too often to be checked (GRAPHQL_LIMITS.MAX_COST)"),
    )


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
