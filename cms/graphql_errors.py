"""One error shape: every input problem names its input field in `extensions.field`.

Tailor's resolvers raise their own errors with the field (`context.timezone`, `visitorToken`). What
graphql-core finds before any resolver runs (a literal of the wrong type in the document, a variable
that does not coerce, a missing required argument) comes without one; `input_field` works it out from
the error and the document, in the same spelling: the argument, then the input fields below it, list
positions as numbers (`context.traits.0`, `context.weather.condition`, `kind`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

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


def name_input_fields(errors, query: str | None) -> None:
    """Give each input error of a response its `extensions.field` (in place)."""
    if not errors:
        return
    try:
        document = parse(query) if query else None
    except GraphQLError:
        document = None  # a syntax error is about the document, not an input field
    for error in errors:
        if not isinstance(error, GraphQLError) or (error.extensions or {}).get("field"):
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
