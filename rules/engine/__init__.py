"""Plain-Python condition engine (no Django): context, condition types, registry, evaluation."""

from . import time  # noqa: F401  (registers the time conditions)
from .audience import Device, InSegment, Language, ReturningVisitor, Trait, VisitCount
from .campaign import QueryParam, Referrer, Utm
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
from .device import DEVICE_CLASSES, classify_device
from .geo import City, Country
from .signals import Emotion, Weather

__all__ = [
    "All",
    "AnyOf",
    "City",
    "Condition",
    "ConditionError",
    "ConditionRegistry",
    "Context",
    "Country",
    "DEVICE_CLASSES",
    "Device",
    "Emotion",
    "Fact",
    "InSegment",
    "InvalidContext",
    "Language",
    "Not",
    "Outcome",
    "QueryParam",
    "Referrer",
    "ReturningVisitor",
    "Trait",
    "Utm",
    "VisitCount",
    "Weather",
    "classify_device",
    "get_zone",
    "register",
    "registry",
]
