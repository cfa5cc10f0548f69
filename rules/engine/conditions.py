"""Condition types, their registry, and composition with all / any / not.

A condition is built once from a JSON-safe spec (``{"type": "time_of_day", "start": "06:00", ...}``),
validating and pre-computing everything it can; evaluating it against a `Context` is then a cheap call
that returns an `Outcome`: True, False or None (a fact it needs is unknown), with a human reason.

Logic is three-valued (Kleene): ``not unknown`` is unknown, ``all`` is False if any child is False,
``any`` is True if any child is True. A variant is eligible only when its condition is True, so an
unknown fact never matches.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from functools import wraps
from typing import Any, ClassVar, NamedTuple

from .context import Context
from .i18n import _, chain_and, chain_or, gettext_noop, ngettext, per_language, wording

MAX_DEPTH = 6
MAX_CHILDREN = 50


class ConditionError(ValueError):
    """A condition spec that cannot be built. `field` names the parameter at fault."""

    def __init__(self, field: str | None, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class Outcome(NamedTuple):
    value: bool | None
    reason: str

    @property
    def matched(self) -> bool:
        return self.value is True


#: most outcomes one condition remembers (`outcome_by`); the memo starts afresh when full
MAX_REMEMBERED_OUTCOMES = 1024


def outcome_by(key: Callable[[Context], Hashable | None]):
    """Remember a condition's outcomes by what they depend on: `key(ctx)` (None: do not remember).

    For conditions whose outcome, reason included, is a function of a few low-cardinality facts
    (the device class, the country, the visitor's local minute): a reason is worded once per value
    and language instead of on every request.
    """

    def decorate(evaluate):
        @wraps(evaluate)
        def remembered(self, ctx):
            value = key(ctx)
            if value is None:
                return evaluate(self, ctx)
            # the memo lives on the condition and starts afresh when full (inlined: hot path)
            full = (wording(), value)
            try:
                memo = self._outcomes
            except AttributeError:
                memo = self.__dict__["_outcomes"] = {}
            out = memo.get(full)
            if out is None:
                if len(memo) >= MAX_REMEMBERED_OUTCOMES:
                    memo.clear()
                out = memo[full] = evaluate(self, ctx)
            return out

        return remembered

    return decorate


def outcome_by_own(key: Callable[[Any, Context], Hashable | None]):
    """`outcome_by` for a key that also depends on the condition's own parameters: `key(self, ctx)`
    (a Trait's outcome depends on the value of the trait it names)."""

    def decorate(evaluate):
        @wraps(evaluate)
        def remembered(self, ctx):
            value = key(self, ctx)
            if value is None:
                return evaluate(self, ctx)
            # the memo lives on the condition and starts afresh when full (inlined: hot path)
            full = (wording(), value)
            try:
                memo = self._outcomes
            except AttributeError:
                memo = self.__dict__["_outcomes"] = {}
            out = memo.get(full)
            if out is None:
                if len(memo) >= MAX_REMEMBERED_OUTCOMES:
                    memo.clear()
                out = memo[full] = evaluate(self, ctx)
            return out

        return remembered

    return decorate


class Condition:
    """Base class: subclasses set `type`, `label`, `facts` and implement the three methods.

    Reasons and descriptions are made in the active language when asked for (`i18n`), never stored
    at construction: a compiled condition is cached and serves requests in every language.
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A description depends only on the (immutable) parameters and the language: word it once.
        if "describe" in cls.__dict__:
            cls.describe = per_language(cls.__dict__["describe"])

    type: ClassVar[str] = ""
    #: the editor's name for the type, marked with `gettext_noop` and translated where it is shown
    label: ClassVar[str] = ""
    #: names of the context facts this condition reads (they become cache dimensions)
    facts: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def from_params(cls, params: Mapping[str, Any], registry: ConditionRegistry) -> Condition:
        raise NotImplementedError  # pragma: no cover - abstract

    def to_params(self) -> dict[str, Any]:
        raise NotImplementedError  # pragma: no cover - abstract

    def describe(self) -> str:
        """What the condition asks for, in an editor's words."""
        raise NotImplementedError  # pragma: no cover - abstract

    def evaluate(self, ctx: Context) -> Outcome:
        raise NotImplementedError  # pragma: no cover - abstract

    def __call__(self, ctx: Context) -> Outcome:
        return self.evaluate(ctx)

    def fact_names(self) -> frozenset[str]:
        return frozenset(self.facts)

    def to_spec(self) -> dict[str, Any]:
        return {"type": self.type, **self.to_params()}

    def unknown(self, what: str) -> Outcome:
        """Not evaluable: `what` (translated, e.g. ``_("weather")``) is not known."""
        return Outcome(None, _("%(condition)s: %(fact)s unknown") % {"condition": self.describe(), "fact": what})

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()!r}>"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.to_params() == other.to_params()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.type, repr(sorted(self.to_params().items(), key=lambda kv: kv[0]))))


class ConditionRegistry:
    """Maps a spec's ``type`` to its Condition class. Sites add types via `register_tailor_conditions`."""

    def __init__(self) -> None:
        self._types: dict[str, type[Condition]] = {}

    def register(self, cls: type[Condition]) -> type[Condition]:
        if not cls.type:
            raise ValueError(f"{cls.__name__} has no `type`")
        existing = self._types.get(cls.type)
        if existing is not None and existing is not cls:
            raise ValueError(f"condition type {cls.type!r} is already registered by {existing.__name__}")
        self._types[cls.type] = cls
        return cls

    def __contains__(self, type_name: str) -> bool:
        return type_name in self._types

    def __iter__(self):
        return iter(self._types.values())

    def get(self, type_name: str) -> type[Condition]:
        try:
            return self._types[type_name]
        except KeyError:
            known = ", ".join(sorted(self._types))
            raise ConditionError(
                "type", _("unknown condition type %(type)r (known: %(known)s)") % {"type": type_name, "known": known}
            ) from None

    def build(self, spec: Mapping[str, Any], _depth: int = 0) -> Condition:
        """Validate `spec` and return the compiled condition; raises ConditionError."""
        if not isinstance(spec, Mapping):
            raise ConditionError(None, _("a condition must be an object, not %(type)s") % {"type": type(spec).__name__})
        if _depth > MAX_DEPTH:
            raise ConditionError(
                None,
                ngettext(
                    "conditions nest deeper than %(count)d level",
                    "conditions nest deeper than %(count)d levels",
                    MAX_DEPTH,
                )
                % {"count": MAX_DEPTH},
            )
        type_name = spec.get("type")
        if not isinstance(type_name, str):
            raise ConditionError("type", _("missing condition type"))
        cls = self.get(type_name)
        params = {k: v for k, v in spec.items() if k != "type"}
        if issubclass(cls, _Composite):
            return cls.from_params(params, self, _depth=_depth + 1)
        return cls.from_params(params, self)


class _Composite(Condition):
    children: tuple[Condition, ...]

    def __init__(self, children: Iterable[Condition]):
        self.children = tuple(children)
        if not self.children:
            raise ConditionError("conditions", _("needs at least one condition"))
        if len(self.children) > MAX_CHILDREN:
            raise ConditionError(
                "conditions",
                ngettext("at most %(count)d condition", "at most %(count)d conditions", MAX_CHILDREN)
                % {"count": MAX_CHILDREN},
            )

    @classmethod
    def from_params(cls, params, registry, _depth=0):
        raw = params.get("conditions")
        if not isinstance(raw, list):
            raise ConditionError("conditions", _("must be a list of conditions"))
        return cls([registry.build(c, _depth) for c in raw])

    def to_params(self):
        return {"conditions": [c.to_spec() for c in self.children]}

    def fact_names(self) -> frozenset[str]:
        return frozenset().union(*(c.fact_names() for c in self.children))


class All(_Composite):
    type = "all"
    label = gettext_noop("All of")

    def describe(self) -> str:
        return chain_and([c.describe() for c in self.children])

    def evaluate(self, ctx: Context) -> Outcome:
        reasons, unknown = [], None
        for child in self.children:
            out = child.evaluate(ctx)
            if out.value is False:
                return out
            if out.value is None and unknown is None:
                unknown = out
            reasons.append(out.reason)
        if unknown is not None:
            return unknown
        return Outcome(True, "; ".join(reasons))


class AnyOf(_Composite):
    type = "any"
    label = gettext_noop("Any of")

    def describe(self) -> str:
        return "(" + chain_or([c.describe() for c in self.children]) + ")"

    def evaluate(self, ctx: Context) -> Outcome:
        fails, unknown = [], None
        for child in self.children:
            out = child.evaluate(ctx)
            if out.value is True:
                return out
            if out.value is None and unknown is None:
                unknown = out
            fails.append(out.reason)
        if unknown is not None:
            return unknown
        return Outcome(False, _("none of: %(reasons)s") % {"reasons": "; ".join(fails)})


class Not(_Composite):
    type = "not"
    label = gettext_noop("Not")

    def __init__(self, children: Iterable[Condition]):
        super().__init__(children)
        if len(self.children) != 1:
            raise ConditionError("condition", _("'not' takes exactly one condition"))

    @classmethod
    def from_params(cls, params, registry, _depth=0):
        raw = params.get("condition")
        if raw is None:
            raise ConditionError("condition", _("'not' needs a condition"))
        return cls([registry.build(raw, _depth)])

    def to_params(self):
        return {"condition": self.children[0].to_spec()}

    def describe(self) -> str:
        return _("not (%(condition)s)") % {"condition": self.children[0].describe()}

    def evaluate(self, ctx: Context) -> Outcome:
        out = self.children[0].evaluate(ctx)
        if out.value is None:
            return out
        return Outcome(not out.value, _("not (%(condition)s)") % {"condition": out.reason})


registry = ConditionRegistry()
for _cls in (All, AnyOf, Not):
    registry.register(_cls)


def register(cls: type[Condition]) -> type[Condition]:
    """Class decorator: add a condition type to the default registry."""
    return registry.register(cls)
