"""Condition blocks: how editors configure each condition type, in variants and segments.

Each block's child names are the condition's parameters; its `clean()` builds the condition with the
engine, so an invalid setting is refused at its field with the engine's own message. Choices come
from the engine's vocabulary (`rules.engine.vocabulary`).

Sites add condition types with the ``register_tailor_conditions`` hook. The hook function receives a
``register`` callable taking the engine condition class and the block editors use to configure it::

    @hooks.register("register_tailor_conditions")
    def register_conditions(register):
        register(LoyaltyTier, LoyaltyTierBlock)

The block must subclass `ConditionBlock` with ``condition_type`` equal to the condition's ``type``
and child blocks named after the condition's parameters.
"""

from __future__ import annotations

import threading
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail import blocks, hooks
from wagtail.blocks.struct_block import StructBlockValidationError

from rules.engine import ConditionError
from rules.engine import registry as condition_registry
from rules.engine.campaign import QUERY_OPERATORS
from rules.engine.traits import TRAIT_OPERATORS
from rules.engine.vocabulary import (
    DAY_NAMES,
    DEVICE_CLASSES,
    DEVICE_LABELS,
    EMOTION_LABELS,
    EMOTION_NAMES,
    WEATHER_CONDITIONS,
    WEATHER_LABELS,
)

HOOK_NAME = "register_tailor_conditions"

#: how a variant's or a segment's conditions combine
MATCH_CHOICES = [("all", _("All conditions")), ("any", _("Any condition"))]

#: how the operator choices read ("Trait plan [equals] pro")
OPERATOR_LABELS = {
    "equals": pgettext_lazy("operator", "equals"),
    "not_equals": pgettext_lazy("operator", "not equals"),
    "contains": pgettext_lazy("operator", "contains"),
    "present": pgettext_lazy("operator", "is present"),
    "gt": pgettext_lazy("operator", "gt"),
    "gte": pgettext_lazy("operator", "gte"),
    "lt": pgettext_lazy("operator", "lt"),
    "lte": pgettext_lazy("operator", "lte"),
    "exists": pgettext_lazy("operator", "exists"),
}


def vocabulary_choices(values: tuple[str, ...], labels: dict[str, str]) -> list[tuple[str, Any]]:
    """Choices for one of the engine's closed vocabularies, with the labels translated."""
    return [(value, _(labels[value])) for value in values]


class ConditionBlock(blocks.StructBlock):
    """Base for condition blocks: its child names are the condition's parameters.

    `negate` turns the condition around ("not on weekends"). `clean()` builds the condition with the
    engine so the editor sees the engine's validation message at the right field.
    """

    condition_type: str = ""

    negate = blocks.BooleanBlock(label=_("Negate"), required=False, help_text=_("Match when this is NOT the case"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Declared on the base class, so it would come first; editors read it last.
        self.child_blocks["negate"] = self.child_blocks.pop("negate")

    @classmethod
    def spec_from_raw(cls, raw: dict[str, Any]) -> dict[str, Any]:
        """The engine spec for this block's raw (JSON) value."""
        params = {k: v for k, v in (raw or {}).items() if k != "negate"}
        spec = {"type": cls.condition_type, **params}
        if (raw or {}).get("negate"):
            return {"type": "not", "condition": spec}
        return spec

    def clean(self, value):
        value = super().clean(value)
        raw = self.get_prep_value(value)
        try:
            condition_registry.build(self.spec_from_raw(raw))
        except ConditionError as e:
            if e.field and e.field in self.child_blocks:
                raise StructBlockValidationError(block_errors={e.field: ValidationError(e.message)})
            raise StructBlockValidationError(non_block_errors=[ValidationError(str(e))])
        return value


class TimeOfDayBlock(ConditionBlock):
    condition_type = "time_of_day"
    start = blocks.TimeBlock(label=_("Start"), help_text=_("Visitor's local time, inclusive"))
    end = blocks.TimeBlock(
        label=_("End"), help_text=_("Exclusive; an end before the start runs overnight (22:00–02:00)")
    )

    class Meta:
        icon = "time"
        label = _("Time of day")


class DayOfWeekBlock(ConditionBlock):
    condition_type = "day_of_week"
    days = blocks.MultipleChoiceBlock(
        label=_("Days"),
        choices=[(str(i), _(name)) for i, name in enumerate(DAY_NAMES)],
        widget=None,
    )

    class Meta:
        icon = "date"
        label = _("Day of week")


class DateRangeBlock(ConditionBlock):
    condition_type = "date_range"
    start = blocks.DateBlock(label=_("Start"), required=False)
    end = blocks.DateBlock(label=_("End"), required=False, help_text=_("Inclusive"))

    class Meta:
        icon = "date"
        label = _("Date range")


class WeatherBlock(ConditionBlock):
    condition_type = "weather"
    conditions = blocks.MultipleChoiceBlock(
        label=_("Conditions"),
        choices=vocabulary_choices(WEATHER_CONDITIONS, WEATHER_LABELS),
        required=False,
        help_text=_("Any of these (leave empty to test temperature only)"),
    )
    min_temperature = blocks.FloatBlock(label=_("Min temperature"), required=False, help_text=_("°C, inclusive"))
    max_temperature = blocks.FloatBlock(label=_("Max temperature"), required=False, help_text=_("°C, inclusive"))

    class Meta:
        icon = "site"
        label = _("Weather")


class EmotionBlock(ConditionBlock):
    condition_type = "emotion"
    labels = blocks.MultipleChoiceBlock(
        label=pgettext_lazy("emotion condition", "Labels"), choices=vocabulary_choices(EMOTION_LABELS, EMOTION_NAMES)
    )
    min_confidence = blocks.FloatBlock(
        label=_("Min confidence"), default=0.5, min_value=0, max_value=1, help_text=_("0 to 1")
    )

    class Meta:
        icon = "pick"
        label = _("Emotion")


def segment_choices() -> list[tuple[str, str]]:
    # The model is looked up in the app registry: `rules.models` builds its fields from this module.
    Segment = apps.get_model("tailor_rules", "Segment")
    return [(s.slug, s.name) for s in Segment.objects.order_by("name").only("slug", "name")]


class SegmentChoiceBlock(blocks.ChoiceBlock):
    """A segment's slug, chosen from the segments that exist when an editor edits the page.

    Reading a stored page keeps the slug as it is: ChoiceBlock would list every segment (a query) to
    map the stored value back to its key, on every request that reads the page, for a key that is
    already the string stored. The list is still offered and checked when an editor saves.
    """

    def to_python(self, value):
        return value


class InSegmentBlock(ConditionBlock):
    condition_type = "in_segment"
    segment = SegmentChoiceBlock(label=_("Segment"), choices=segment_choices)

    class Meta:
        icon = "group"
        label = _("In segment")


class DeviceBlock(ConditionBlock):
    condition_type = "device"
    devices = blocks.MultipleChoiceBlock(label=_("Devices"), choices=vocabulary_choices(DEVICE_CLASSES, DEVICE_LABELS))

    class Meta:
        icon = "mobile-alt"
        label = _("Device")


class CountryBlock(ConditionBlock):
    condition_type = "country"
    countries = blocks.CharBlock(
        label=_("Countries"), max_length=500, help_text=_("Comma-separated codes or names: KR, Japan, Deutschland")
    )

    class Meta:
        icon = "globe"
        label = _("Country")


class CityBlock(ConditionBlock):
    condition_type = "city"
    cities = blocks.CharBlock(
        label=_("Cities"),
        max_length=500,
        help_text=_("Comma-separated spellings to accept, e.g. Seoul, 서울, seoul-si"),
    )
    threshold = blocks.IntegerBlock(
        label=_("Threshold"), default=85, min_value=0, max_value=100, help_text=_("Fuzzy match score, 0-100")
    )

    class Meta:
        icon = "globe"
        label = _("City")


class UtmBlock(ConditionBlock):
    condition_type = "utm"
    source = blocks.CharBlock(
        label=pgettext_lazy("utm", "Source"),
        required=False,
        max_length=200,
        help_text=_("utm_source; a trailing * matches any ending"),
    )
    medium = blocks.CharBlock(label=pgettext_lazy("utm", "Medium"), required=False, max_length=200)
    campaign = blocks.CharBlock(label=pgettext_lazy("utm", "Campaign"), required=False, max_length=200)

    class Meta:
        icon = "tag"
        label = _("Campaign (UTM)")


class ReferrerBlock(ConditionBlock):
    condition_type = "referrer"
    pattern = blocks.CharBlock(
        label=_("Pattern"), max_length=300, help_text=_("A domain (google.com) or a pattern (*.example.org/blog/*)")
    )

    class Meta:
        icon = "link-external"
        label = _("Referrer")


class QueryParamBlock(ConditionBlock):
    condition_type = "query_param"
    name = blocks.CharBlock(label=_("Name"), max_length=100)
    operator = blocks.ChoiceBlock(
        label=_("Operator"), choices=[(o, OPERATOR_LABELS[o]) for o in QUERY_OPERATORS], default="equals"
    )
    value = blocks.CharBlock(label=_("Value"), required=False, max_length=200)

    class Meta:
        icon = "search"
        label = _("Query parameter")


class VisitCountBlock(ConditionBlock):
    condition_type = "visit_count"
    min = blocks.IntegerBlock(
        label=_("Min"), required=False, min_value=1, help_text=_("At least this many visits (this one included)")
    )
    max = blocks.IntegerBlock(label=_("Max"), required=False, min_value=1)

    class Meta:
        icon = "history"
        label = _("Visit count")


class ReturningVisitorBlock(ConditionBlock):
    condition_type = "returning_visitor"
    returning = blocks.BooleanBlock(
        label=pgettext_lazy("visitor", "Returning"),
        required=False,
        default=True,
        help_text=_("Checked: returning; unchecked: new"),
    )

    class Meta:
        icon = "redirect"
        label = _("Returning visitor")


class LanguageBlock(ConditionBlock):
    condition_type = "language"
    languages = blocks.CharBlock(
        label=_("Languages"), max_length=300, help_text=_("Comma-separated tags or prefixes: ko, en-GB")
    )
    any_preferred = blocks.BooleanBlock(
        label=_("Any preferred"), required=False, help_text=_("Match any preferred language, not only the first")
    )

    class Meta:
        icon = "openquote"
        label = _("Language")


class TraitBlock(ConditionBlock):
    condition_type = "trait"
    key = blocks.CharBlock(label=_("Key"), max_length=64)
    operator = blocks.ChoiceBlock(
        label=_("Operator"),
        choices=[(o, OPERATOR_LABELS[o]) for o in TRAIT_OPERATORS],
        default="equals",
    )
    value = blocks.CharBlock(label=_("Value"), required=False, max_length=200)

    class Meta:
        icon = "list-ul"
        label = _("Trait")


#: condition type -> block class; sites add theirs with the `register_tailor_conditions` hook
CONDITION_BLOCKS: dict[str, type[ConditionBlock]] = {
    cls.condition_type: cls
    for cls in (
        TimeOfDayBlock,
        DayOfWeekBlock,
        DateRangeBlock,
        WeatherBlock,
        EmotionBlock,
        InSegmentBlock,
        DeviceBlock,
        CountryBlock,
        CityBlock,
        UtmBlock,
        ReferrerBlock,
        QueryParamBlock,
        VisitCountBlock,
        ReturningVisitorBlock,
        LanguageBlock,
        TraitBlock,
    )
}


_loaded = False
_lock = threading.Lock()


def register_condition(condition_cls, block_cls) -> None:
    """Add a condition type: its engine class to the registry, its block to the editor's choices."""
    if block_cls.condition_type != condition_cls.type:
        raise ValueError(
            f"{block_cls.__name__}.condition_type {block_cls.condition_type!r} "
            f"does not match {condition_cls.__name__}.type {condition_cls.type!r}"
        )
    condition_registry.register(condition_cls)
    CONDITION_BLOCKS[condition_cls.type] = block_cls


def load_condition_hooks() -> None:
    """Run every `register_tailor_conditions` hook once per process."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        for fn in hooks.get_hooks(HOOK_NAME):
            fn(register_condition)
        _loaded = True


class ConditionsBlock(blocks.StreamBlock):
    """The targeting conditions of a variant: one block type per registered condition type.

    Its child blocks are looked up when first needed (after apps are ready), not at import time, so a
    site's `register_tailor_conditions` hook is honoured and adding a condition type does not change
    the StreamField definition in migrations.
    """

    def __init__(self, local_blocks=None, **kwargs):
        self._children = None
        super().__init__([], **kwargs)

    @property
    def child_blocks(self):
        if self._children is None:
            load_condition_hooks()
            children = {}
            for name, cls in CONDITION_BLOCKS.items():
                block = cls()
                block.set_name(name)
                children[name] = block
            self._children = children
        return self._children

    @child_blocks.setter
    def child_blocks(self, value):
        # StreamBlock.__init__ assigns the (empty) declared children; the real ones are lazy.
        pass

    def deconstruct(self):
        return ("rules.blocks.ConditionsBlock", (), self._constructor_kwargs)

    def deconstruct_with_lookup(self, lookup):
        return self.deconstruct()

    @classmethod
    def construct_from_lookup(cls, lookup, *args, **kwargs):
        return cls(**kwargs)

    class Meta:
        required = False
        max_num = 20


def conditions_spec(raw_items: list[dict[str, Any]], match: str) -> dict[str, Any] | None:
    """The engine spec for a ConditionsBlock's raw value joined by `match`; None if empty."""
    specs = []
    for item in raw_items or []:
        cls = CONDITION_BLOCKS.get(item.get("type"))
        if cls is None:  # a condition type whose plugin was removed: never match, never crash
            specs.append({"type": "not", "condition": {"type": "all", "conditions": []}})
            continue
        specs.append(cls.spec_from_raw(item.get("value") or {}))
    if not specs:
        return None
    if len(specs) == 1:
        return specs[0]
    return {"type": "any" if match == "any" else "all", "conditions": specs}
