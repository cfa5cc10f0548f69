"""What one ``/graphql/`` request may cost: the checks `cms.graphql_view` runs before executing.

In the order they run, each bounded by the one before (``TAILOR["GRAPHQL_LIMITS"]``):

1. ``MAX_BODY_BYTES``: the POST body, or the GET query string, is refused (413) before it is read.
2. persisted operations (``TAILOR["GRAPHQL_PERSISTED_OPERATIONS"]``, off by default): only the
   documents of that folder run, sent as their text or named by their SHA-256.
3. ``MAX_TOKENS``: graphql-core's parser stops at that many tokens (``parse(max_tokens=)``), so a huge
   document costs no more than a small one to refuse.
4. one validation rule, `RequestLimits`, for ``MAX_DEPTH``, ``MAX_ALIASES`` and ``MAX_COST``, and
   `NoIntrospection` when ``TAILOR["GRAPHQL_INTROSPECTION"]`` is False, run before graphql-core's
   standard rules (which graphene-django runs next, on a document now known to be small), whose
   quadratic overlap check gets a work budget (`BoundedOverlappingFields`).

Why our own rules rather than graphene's ``depth_limit_validator`` and ``DisableIntrospection``:
graphene's depth validator works in its constructor, before graphql-core's own rules have checked the
document, so a spread of an unknown fragment raises KeyError (a 500) and a fragment that spreads itself
recurses without end; and ``DisableIntrospection`` refuses ``__typename`` too, which every document in
``graphql/operations/`` selects. `RequestLimits` walks each fragment once (memoized, cycles cut), so its
work is linear in the document even for a "fragment bomb" whose expansion is exponential (its cost is
then simply over the limit).

Cost: every field selected costs 1, fragments expanded where spread; Tailor's fields that do real work
per call cost more (`FIELD_COSTS`): deciding a page, storing consent, recording an event.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from django.utils.translation import gettext as _
from graphql import GraphQLError
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import OverlappingFieldsCanBeMergedRule, ValidationContext, ValidationRule, specified_rules

from tailor.settings import tailor_settings

#: validate() stops after this many errors of these rules
MAX_VALIDATION_ERRORS = 20

#: what a field costs beyond 1 (per selection, wherever it appears): the resolvers that do real work
FIELD_COSTS = {
    # context, providers, profile, every slot decided, tokens signed: ~15-20 ms each on a busy
    # 2-core machine under gunicorn, so at most 19 per request (~0.4 s)
    "personalizedPage": 50,
    "renderedHtml": 30,  # a theme renders the page
    "setConsent": 10,  # writes the visitor's profile
    "forgetVisitor": 10,
    "exportVisitorData": 10,
    "recordEvent": 5,  # writes stats and the event log
    "pages": 5,  # grapple's lists run a database query each
    "search": 5,
}


def limits() -> dict[str, int]:
    return tailor_settings.GRAPHQL_LIMITS


def limit_error(name: str, message: str, **extensions) -> GraphQLError:
    """An error naming the limit (`extensions.code` LIMIT_EXCEEDED, `extensions.limit` its setting)."""
    return GraphQLError(message, extensions={"code": "LIMIT_EXCEEDED", "limit": name, **extensions})


class _Measure:
    __slots__ = ("aliases", "cost", "depth")

    def __init__(self, depth: int = 0, cost: int = 0, aliases: int = 0):
        self.depth, self.cost, self.aliases = depth, cost, aliases


class RequestLimits(ValidationRule):
    """Refuses an operation deeper than MAX_DEPTH, with more than MAX_ALIASES aliased fields, or
    costing more than MAX_COST (see the module's docstring)."""

    def __init__(self, context: ValidationContext):
        super().__init__(context)
        self.fragments = {
            d.name.value: d for d in context.document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.measured: dict[str, _Measure] = {}
        self.visiting: set[str] = set()

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args):
        bounds = limits()
        measure = self._selections(node.selection_set)
        name = node.name.value if node.name else _("the operation")
        if measure.depth > bounds["MAX_DEPTH"]:
            self.report_error(
                limit_error(
                    "MAX_DEPTH",
                    _("%(name)s is nested %(depth)d deep; the limit is %(limit)d (GRAPHQL_LIMITS.MAX_DEPTH)")
                    % {"name": name, "depth": measure.depth, "limit": bounds["MAX_DEPTH"]},
                )
            )
        if measure.aliases > bounds["MAX_ALIASES"]:
            self.report_error(
                limit_error(
                    "MAX_ALIASES",
                    _("%(name)s has %(count)d aliased fields; the limit is %(limit)d (GRAPHQL_LIMITS.MAX_ALIASES)")
                    % {"name": name, "count": measure.aliases, "limit": bounds["MAX_ALIASES"]},
                )
            )
        if measure.cost > bounds["MAX_COST"]:
            self.report_error(
                limit_error(
                    "MAX_COST",
                    _("%(name)s costs %(cost)d; the limit is %(limit)d (GRAPHQL_LIMITS.MAX_COST)")
                    % {"name": name, "cost": min(measure.cost, 10**9), "limit": bounds["MAX_COST"]},
                    cost=min(measure.cost, 10**9),
                )
            )
        return self.SKIP  # the operation is measured; nothing below needs visiting

    def _selections(self, selection_set: SelectionSetNode | None) -> _Measure:
        total = _Measure()
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                below = self._selections(selection.selection_set)
                depth = below.depth + 1
                cost = below.cost + 1 + FIELD_COSTS.get(selection.name.value, 0)
                aliases = below.aliases + (selection.alias is not None)
            elif isinstance(selection, InlineFragmentNode):
                below = self._selections(selection.selection_set)
                depth, cost, aliases = below.depth, below.cost, below.aliases
            elif isinstance(selection, FragmentSpreadNode):
                below = self._fragment(selection.name.value)
                depth, cost, aliases = below.depth, below.cost, below.aliases
            else:  # pragma: no cover - graphql-core has no other selection
                continue
            total.depth = max(total.depth, depth)
            total.cost += cost
            total.aliases += aliases
        return total

    def _fragment(self, name: str) -> _Measure:
        if name in self.measured:
            return self.measured[name]
        fragment = self.fragments.get(name)
        if fragment is None or name in self.visiting:
            return _Measure()  # unknown or cyclic: graphql-core's own rules report those
        self.visiting.add(name)
        measure = self._selections(fragment.selection_set)
        self.visiting.discard(name)
        self.measured[name] = measure
        return measure


class NoIntrospection(ValidationRule):
    """Refuses ``__schema`` and ``__type`` (``TAILOR["GRAPHQL_INTROSPECTION"] = False``); ``__typename``
    stays allowed: clients need it to tell union members and block types apart."""

    def enter_field(self, node: FieldNode, *_args):
        if node.name.value in ("__schema", "__type"):
            self.report_error(
                GraphQLError(
                    _("Introspection is turned off on this server (GRAPHQL_INTROSPECTION); %(field)s is refused")
                    % {"field": node.name.value},
                    node,
                    extensions={"code": "INTROSPECTION_DISABLED"},
                )
            )


#: graphql-core's OverlappingFieldsCanBeMergedRule compares every pair of fields that share a response
#: name, so its work grows with the square of a repeated field: 100 copies of `page(id: 1) { id }`
#: (29,700 units of its budget) take half a second, 300 (269,100) over a second, and its own budget
#: (MAX_COMPLEXITY_BUDGET, 500,000) allows more. Tailor's endpoint gives it this budget instead; the
#: documents of graphql/operations and the introspection query spend fewer than 10 units.
OVERLAP_BUDGET = 5_000


class BoundedOverlappingFields(OverlappingFieldsCanBeMergedRule):
    """graphql-core's rule with OVERLAP_BUDGET; past it graphql-core aborts the validation
    (`ValidationAbortedError`), which the view reports as over ``MAX_COST``."""

    def __init__(self, context: ValidationContext):
        super().__init__(context)
        rule_context = getattr(self, "rule_context", None)
        if rule_context is not None and hasattr(rule_context, "remaining_complexity_budget"):
            rule_context.remaining_complexity_budget = min(rule_context.remaining_complexity_budget, OVERLAP_BUDGET)


def standard_rules() -> tuple[type[ValidationRule], ...]:
    """graphql-core's specified rules, the overlap check bounded (graphene-django runs these)."""
    return tuple(
        BoundedOverlappingFields if rule is OverlappingFieldsCanBeMergedRule else rule for rule in specified_rules
    )


def validation_rules() -> list[type[ValidationRule]]:
    """The rules run besides graphql-core's standard ones."""
    rules: list[type[ValidationRule]] = [RequestLimits]
    if not tailor_settings.GRAPHQL_INTROSPECTION:
        rules.append(NoIntrospection)
    return rules


# --- persisted operations ---------------------------------------------------------------------------


def document_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _persisted(folder: str) -> dict[str, str]:
    """{sha256: text} of the folder's .graphql documents (read once per process and folder)."""
    documents = {}
    for path in sorted(Path(folder).glob("*.graphql")):
        text = path.read_text(encoding="utf-8")
        documents[document_hash(text)] = text
    return documents


def persisted_documents() -> dict[str, str] | None:
    """The accepted documents by hash, or None when any document may run."""
    folder = tailor_settings.GRAPHQL_PERSISTED_OPERATIONS
    if not folder:
        return None
    return _persisted(str(folder))


def persisted_query(data, query: str | None) -> str:
    """The document to run in persisted-operations mode, or a GraphQLError saying why none.

    `data` is the request's parameters: the document's text in ``query`` (it must be one of the
    folder's, byte for byte), or its SHA-256 in ``documentId`` ("sha256:<hex>" or "<hex>") or in
    ``extensions.persistedQuery.sha256Hash`` (Apollo's automatic persisted queries, without the
    automatic registration)."""
    documents = persisted_documents() or {}
    wanted = _requested_hash(data)
    if wanted is None and query:
        wanted = document_hash(query)
    if wanted is not None and wanted in documents:
        return documents[wanted]
    raise GraphQLError(
        _(
            "Only the persisted operations are accepted here (GRAPHQL_PERSISTED_OPERATIONS); send one by its "
            "text or its SHA-256 in documentId"
        ),
        extensions={"code": "PERSISTED_QUERY_NOT_FOUND", "limit": "GRAPHQL_PERSISTED_OPERATIONS"},
    )


def _requested_hash(data) -> str | None:
    document_id = data.get("documentId") if hasattr(data, "get") else None
    if isinstance(document_id, str):
        return document_id.removeprefix("sha256:").strip().lower()
    extensions = data.get("extensions") if hasattr(data, "get") else None
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    sha = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
    return sha.strip().lower() if isinstance(sha, str) else None
