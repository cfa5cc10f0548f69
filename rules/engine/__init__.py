"""Plain-Python condition engine (no Django): context, condition types, registry, evaluation."""

from . import time  # noqa: F401  (registers the time conditions)
from .conditions import (
    All,
    AnyOf,
    Condition,
    ConditionError,
    ConditionRegistry,
    Not,
    Outcome,
    register,
    registry,
)
from .context import Context, Fact, InvalidContext, get_zone

__all__ = [
    "All",
    "AnyOf",
    "Condition",
    "ConditionError",
    "ConditionRegistry",
    "Context",
    "Fact",
    "InvalidContext",
    "Not",
    "Outcome",
    "get_zone",
    "register",
    "registry",
]
