"""One error shape: every input problem names its input field in `extensions.field`, and no
unexpected error shows the client more than a request id (`public_errors`).

Tailor's resolvers raise their own errors with the field (`context.timezone`, `visitorToken`). What
graphql-core finds before any resolver runs (a literal of the wrong type in the document, a variable
that does not coerce, a missing required argument) comes without one; `input_field` works it out from
the error and the document, in the same spelling: the argument, then the input fields below it, list
positions as numbers (`context.traits.0`, `context.weather.condition`, `kind`).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

import graphql
from django.utils.translation import gettext as _
from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    ListValueNode,
    Node,
    ObjectValueNode,
    ValueNode,
    VariableNode,
    parse,
    visit,
)
from graphql.language import Visitor

INTERNAL = "INTERNAL_SERVER_ERROR"
#: what a kept message may echo of the client's input, and its whole length
MAX_ECHO, MAX_MESSAGE = 80, 500
#: a document is never parsed further than this here (the view refuses longer ones first)
MAX_TOKENS = 10_000
_QUOTED = re.compile(r"""(['"])([^'"]{%d,})\1""" % (MAX_ECHO + 1))
_GRAPHQL_CORE = str(Path(graphql.__file__).parent) + os.sep

_VARIABLE = re.compile(r"^Variable '\$(\w+)' (?:got invalid value .*? at '([^']+)'|of |got invalid value)", re.S)
_MISSING_ARGUMENT = re.compile(r"argument '(\w+)' of type '[^']+' is required")
_UNKNOWN_ARGUMENT = re.compile(r"^Unknown argument '(\w+)'")


def input_field(error: GraphQLError, document: DocumentNode | None) -> str | None:
    """The input field an error is about, or None when it is not about an input."""
    field = (error.extensions or {}).get("field")
    if field:
        return field
    original = getattr(error, "original_error", None)
    if isinstance(getattr(original, "field", None), str):
        return original.field
    message = error.message
    if match := _MISSING_ARGUMENT.search(message):
        return match.group(1)
    if match := _UNKNOWN_ARGUMENT.search(message):
        return match.group(1)
    if document is None:
        return None
    if match := _VARIABLE.match(message):
        name, path = match.group(1), match.group(2)
        below = _path_below_variable(path, name) if path else []
        where = _variable_usage(document, name)
        return ".".join([*where, *below]) if where else None
    for node in error.nodes or ():
        path = _literal_path(document, node)
        if path:
            return ".".join(path)
    return None


def _path_below_variable(path: str, name: str) -> list[str]:
    """ "ctx.traits[0].key" for variable `ctx` -> ["traits", "0", "key"]."""
    rest = path[len(name) :] if path.startswith(name) else path
    return [part for part in re.split(r"[.\[\]]+", rest) if part]


def _arguments(document: DocumentNode) -> list[ArgumentNode]:
    found: list[ArgumentNode] = []

    class Arguments(Visitor):
        def enter_argument(self, node, *_args):
            found.append(node)

    visit(document, Arguments())
    return found


def _walk(value: ValueNode, path: list[str]) -> Iterator[tuple[Node, list[str]]]:
    yield value, path
    if isinstance(value, ObjectValueNode):
        for field in value.fields:
            yield field, [*path, field.name.value]
            yield from _walk(field.value, [*path, field.name.value])
    elif isinstance(value, ListValueNode):
        for index, item in enumerate(value.values):
            yield from _walk(item, [*path, str(index)])


def _same(a: Node, b: Node) -> bool:
    return a is b or (a.loc is not None and b.loc is not None and (a.loc.start, a.loc.end) == (b.loc.start, b.loc.end))


def _literal_path(document: DocumentNode, target: Node) -> list[str] | None:
    for argument in _arguments(document):
        if _same(argument, target):
            return [argument.name.value]
        for node, path in _walk(argument.value, [argument.name.value]):
            if _same(node, target):
                return path
    return None


def _variable_usage(document: DocumentNode, name: str) -> list[str] | None:
    for argument in _arguments(document):
        for node, path in _walk(argument.value, [argument.name.value]):
            if isinstance(node, VariableNode) and node.name.value == name:
                return path
    return None


def name_input_fields(errors, query: str | None, document: DocumentNode | None = None) -> None:
    """Give each input error of a response its `extensions.field` (in place). `document` is `query`
    parsed, when the caller has it."""
    if not errors:
        return
    if document is None and query:
        try:
            document = parse(query, max_tokens=MAX_TOKENS)
        except GraphQLError:
            document = None  # a syntax error (or too long a document) is not about an input field
    for error in errors:
        if not isinstance(error, GraphQLError) or (error.extensions or {}).get("field"):
            continue
        if (error.extensions or {}).get("code") == INTERNAL:
            continue
        field = input_field(error, document)
        if field:
            error.extensions = {**(error.extensions or {}), "field": field}
            if not error.message.startswith(f"{field}: "):
                # "Variable '$ctx' got invalid value 1 at 'ctx.traits[0]'; Expected type ..." -> the reason
                detail = (
                    error.message.split("; ", 1)[1]
                    if _VARIABLE.match(error.message) and "; " in error.message
                    else error.message
                )
                error.message = f"{field}: {detail}"


# --- what the client may see --------------------------------------------------------------------


def _deliberate(error: GraphQLError) -> bool:
    """Was this error raised on purpose, for the client to read?

    Yes for every error found before execution (the document, its variables: graphql-core words
    those for clients) and for a GraphQLError a resolver raised: with `extensions` (Tailor's carry
    `field` or `code`), or without them outside graphql-core (grapple's "The 'site' and 'in_site'
    filters cannot be used at the same time."). No for any other exception (a KeyError in grapple,
    Django's "Cannot resolve keyword ... Choices are: ...", a ValueError from the database driver) and
    for graphql-core's own complaints during execution (a non-null field resolving to null, a value an
    enum cannot represent): those are the server's bugs, not the client's mistakes.
    """
    original = error.original_error
    if error.path is None:
        return True
    if original is None:
        return bool(error.extensions)
    if not isinstance(original, GraphQLError):
        return False
    return bool(original.extensions) or not _raised_in_graphql_core(original)


def _raised_in_graphql_core(exc: BaseException) -> bool:
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code.co_filename.startswith(_GRAPHQL_CORE)


def _clipped(message: str) -> str:
    """Quoted input echoed in a message kept to MAX_ECHO characters, the message to MAX_MESSAGE."""
    message = _QUOTED.sub(lambda m: f"{m.group(1)}{m.group(2)[: MAX_ECHO - 1]}…{m.group(1)}", message)
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def public_errors(errors, request_id: str, logger: logging.Logger) -> list[GraphQLError]:
    """The errors as the client may see them: deliberate ones as they are (input echoes clipped),
    anything else as a generic message with `extensions.code` INTERNAL_SERVER_ERROR and
    `extensions.requestId`, its traceback logged under that id."""
    public = []
    for error in errors:
        if isinstance(error, GraphQLError) and _deliberate(error):
            error.message = _clipped(error.message)
            public.append(error)
            continue
        original = error.original_error if isinstance(error, GraphQLError) and error.original_error else error
        where = ".".join(str(p) for p in error.path) if isinstance(error, GraphQLError) and error.path else "-"
        logger.error(
            "GraphQL error (request id %s) at %s: %s: %s",
            request_id,
            where,
            type(original).__name__,
            str(original)[:2000],
            exc_info=(type(original), original, original.__traceback__),
        )
        public.append(
            GraphQLError(
                _("Internal error; the server's log has the details under request id %(id)s") % {"id": request_id},
                nodes=getattr(error, "nodes", None),
                path=getattr(error, "path", None),
                extensions={"code": INTERNAL, "requestId": request_id},
            )
        )
    return public
