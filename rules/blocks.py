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
from wagtail import blocks, hooks
from wagtail.blocks.struct_block import StructBlockValidationError

from rules.engine import ConditionError
from rules.engine import registry as condition_registry
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


def vocabulary_choices(values: tuple[str, ...], labels: dict[str, str]) -> list[tuple[str, Any]]:
    """Choices for one of the engine's closed vocabularies, with the labels translated."""
    return [(value, _(labels[value])) for value in values]


class ConditionBlock(blocks.StructBlock):
    """Base for condition blocks: its child names are the condition's parameters.

    `negate` turns the condition around ("not on weekends"). `clean()` builds the condition with the
    engine so the editor sees the engine's validation message at the right field.
    """

    condition_type: str = ""

    negate = blocks.BooleanBlock(required=False, help_text="Match when this is NOT the case")

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
    start = blocks.TimeBlock(help_text="Visitor's local time, inclusive")
    end = blocks.TimeBlock(help_text="Exclusive; an end before the start runs overnight (22:00–02:00)")

    class Meta:
        icon = "time"
        label = "Time of day"


class DayOfWeekBlock(ConditionBlock):
    condition_type = "day_of_week"
    days = blocks.MultipleChoiceBlock(
        choices=[(str(i), _(name)) for i, name in enumerate(DAY_NAMES)],
        widget=None,
    )

    class Meta:
        icon = "date"
        label = "Day of week"


class DateRangeBlock(ConditionBlock):
    condition_type = "date_range"
    start = blocks.DateBlock(required=False)
    end = blocks.DateBlock(required=False, help_text="Inclusive")

    class Meta:
        icon = "date"
        label = "Date range"


class WeatherBlock(ConditionBlock):
    condition_type = "weather"
    conditions = blocks.MultipleChoiceBlock(
        choices=vocabulary_choices(WEATHER_CONDITIONS, WEATHER_LABELS),
        required=False,
        help_text="Any of these (leave empty to test temperature only)",
    )
    min_temperature = blocks.FloatBlock(required=False, help_text="°C, inclusive")
    max_temperature = blocks.FloatBlock(required=False, help_text="°C, inclusive")

    class Meta:
        icon = "site"
        label = "Weather"


class EmotionBlock(ConditionBlock):
    condition_type = "emotion"
    labels = blocks.MultipleChoiceBlock(choices=vocabulary_choices(EMOTION_LABELS, EMOTION_NAMES))
    min_confidence = blocks.FloatBlock(default=0.5, min_value=0, max_value=1, help_text="0 to 1")

    class Meta:
        icon = "pick"
        label = "Emotion"


def segment_choices() -> list[tuple[str, str]]:
    # The model is looked up in the app registry: `rules.models` builds its fields from this module.
    Segment = apps.get_model("tailor_rules", "Segment")
    return [(s.slug, s.name) for s in Segment.objects.order_by("name").only("slug", "name")]


class InSegmentBlock(ConditionBlock):
    condition_type = "in_segment"
    segment = blocks.ChoiceBlock(choices=segment_choices)

    class Meta:
        icon = "group"
        label = "In segment"


class DeviceBlock(ConditionBlock):
    condition_type = "device"
    devices = blocks.MultipleChoiceBlock(choices=vocabulary_choices(DEVICE_CLASSES, DEVICE_LABELS))

    class Meta:
        icon = "mobile-alt"
        label = "Device"


class CountryBlock(ConditionBlock):
    condition_type = "country"
    countries = blocks.CharBlock(max_length=500, help_text="Comma-separated codes or names: KR, Japan, Deutschland")

    class Meta:
        icon = "globe"
        label = "Country"


class CityBlock(ConditionBlock):
    condition_type = "city"
    cities = blocks.CharBlock(
        max_length=500, help_text="Comma-separated spellings to accept, e.g. Seoul, 서울, seoul-si"
    )
    threshold = blocks.IntegerBlock(default=85, min_value=0, max_value=100, help_text="Fuzzy match score, 0-100")

    class Meta:
        icon = "globe"
        label = "City"


class UtmBlock(ConditionBlock):
    condition_type = "utm"
    source = blocks.CharBlock(required=False, max_length=200, help_text="utm_source; a trailing * matches any ending")
    medium = blocks.CharBlock(required=False, max_length=200)
    campaign = blocks.CharBlock(required=False, max_length=200)

    class Meta:
        icon = "tag"
        label = "Campaign (UTM)"


class ReferrerBlock(ConditionBlock):
    condition_type = "referrer"
    pattern = blocks.CharBlock(max_length=300, help_text="A domain (google.com) or a pattern (*.example.org/blog/*)")

    class Meta:
        icon = "link-external"
        label = "Referrer"


class QueryParamBlock(ConditionBlock):
    condition_type = "query_param"
    name = blocks.CharBlock(max_length=100)
    operator = blocks.ChoiceBlock(
        choices=[("equals", "equals"), ("contains", "contains"), ("present", "is present")], default="equals"
    )
    value = blocks.CharBlock(required=False, max_length=200)

    class Meta:
        icon = "search"
        label = "Query parameter"


class VisitCountBlock(ConditionBlock):
    condition_type = "visit_count"
    min = blocks.IntegerBlock(required=False, min_value=1, help_text="At least this many visits (this one included)")
    max = blocks.IntegerBlock(required=False, min_value=1)

    class Meta:
        icon = "history"
        label = "Visit count"


class ReturningVisitorBlock(ConditionBlock):
    condition_type = "returning_visitor"
    returning = blocks.BooleanBlock(required=False, default=True, help_text="Checked: returning; unchecked: new")

    class Meta:
        icon = "redirect"
        label = "Returning visitor"


class LanguageBlock(ConditionBlock):
    condition_type = "language"
    languages = blocks.CharBlock(max_length=300, help_text="Comma-separated tags or prefixes: ko, en-GB")
    any_preferred = blocks.BooleanBlock(required=False, help_text="Match any preferred language, not only the first")

    class Meta:
        icon = "openquote"
        label = "Language"


class TraitBlock(ConditionBlock):
    condition_type = "trait"
    key = blocks.CharBlock(max_length=64)
    operator = blocks.ChoiceBlock(
        choices=[
            (o, o.replace("_", " ")) for o in ("equals", "not_equals", "contains", "gt", "gte", "lt", "lte", "exists")
        ],
        default="equals",
    )
    value = blocks.CharBlock(required=False, max_length=200)

    class Meta:
        icon = "list-ul"
        label = "Trait"


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
