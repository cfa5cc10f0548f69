"""Plain-Python condition engine (no Django): context, condition types, registry, evaluation."""

# Importing a condition module registers its condition types with the default registry.
from . import time  # noqa: F401
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
from .device import Device, classify_device
from .emotion import Emotion
from .geo import City, Country
from .journey import InJourneyStage, JourneyMetric
from .language import Language
from .prediction import LikelyNextSection, LikelyToConvert
from .segments import InSegment
from .traits import Trait
from .visits import ReturningVisitor, VisitCount
from .vocabulary import DEVICE_CLASSES
from .weather import Weather

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
    "InJourneyStage",
    "InSegment",
    "InvalidContext",
    "JourneyMetric",
    "Language",
    "LikelyNextSection",
    "LikelyToConvert",
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
