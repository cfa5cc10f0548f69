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

import datetime
import re
import threading
from typing import Any

from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from wagtail import blocks, hooks
from wagtail.admin.staticfiles import versioned_static
from wagtail.admin.telepath import register as register_adapter
from wagtail.blocks.struct_block import BlockGroup, StructBlockAdapter, StructBlockValidationError

from rules.engine import ConditionError
from rules.engine import registry as condition_registry
from rules.engine.campaign import QUERY_OPERATORS
from rules.engine.journey import JOURNEY_METRIC_LABELS, JOURNEY_METRICS
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


def pills() -> forms.CheckboxSelectMultiple:
    """Checkboxes for a short list of choices (the editor's CSS shows them as pills), not a listbox."""
    return forms.CheckboxSelectMultiple(attrs={"class": "tailor-pills"})


class Summary:
    """One way a collapsed condition can read: `text` with ``%(field)s`` placeholders.

    A condition reads as the first of its summaries whose placeholders are all filled in, whose `when`
    fields are all checked and whose `unless` fields are not. The same summaries are shown by the
    editor's script (passed with the block's definition) and by `ConditionBlock.summarize`.
    """

    def __init__(self, text, when: tuple[str, ...] = (), unless: tuple[str, ...] = ()):
        self.text, self.when, self.unless = text, tuple(when), tuple(unless)

    def as_json(self) -> dict[str, Any]:
        return {"text": str(self.text), "when": list(self.when), "unless": list(self.unless)}


#: how a negated condition reads: "Not: Mobile"
NEGATED_SUMMARY = _("Not: %(summary)s")


class ConditionBlock(blocks.StructBlock):
    """Base for condition blocks: its child names are the condition's parameters.

    `negate` turns the condition around ("not on weekends"). `clean()` builds the condition with the
    engine so the editor sees the engine's validation message at the right field.
    """

    condition_type: str = ""
    #: how the collapsed block reads ("Rain, 5–25 °C"); see `Summary`. Empty: the filled-in values.
    summaries: tuple[Summary, ...] = ()
    #: how a field's value is written in a summary, where its block type does not say ("percent")
    summary_formats: dict[str, str] = {}

    negate = blocks.BooleanBlock(label=_("Negate"), required=False, help_text=_("Match when this is NOT the case"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Declared on the base class, so it would come first; editors read it last (the form layout
        # was made from the declaration order, so it is made again).
        self.child_blocks["negate"] = self.child_blocks.pop("negate")
        if getattr(self._meta_class, "form_layout", None) is None:  # not a site's own layout
            self.meta.form_layout = BlockGroup(list(self.child_blocks))

    def summary_spec(self) -> dict[str, Any]:
        """What the editor's script needs to write this block's summary (translated now)."""
        return {
            "summaries": [s.as_json() for s in self.summaries],
            "formats": self._formats(),
            "negated": str(NEGATED_SUMMARY),
        }

    def _formats(self) -> dict[str, str]:
        formats = {}
        for name, child in self.child_blocks.items():
            if isinstance(child, blocks.TimeBlock):
                formats[name] = "time"
            elif isinstance(child, (blocks.FloatBlock, blocks.IntegerBlock, blocks.DecimalBlock)):
                formats[name] = "number"
            elif isinstance(child, blocks.BooleanBlock):
                formats[name] = "flag"
        return {**formats, **self.summary_formats}

    def _display(self, name: str, value: Any) -> str:
        """A field's value as a summary writes it ('' when empty)."""
        child = self.child_blocks.get(name)
        kind = self._formats().get(name)
        if value is None or value == "" or value == [] or kind == "flag":
            return ""
        if isinstance(child, (blocks.ChoiceBlock, blocks.MultipleChoiceBlock)):
            labels = {str(k): str(v) for k, v in child.field.choices}
            values = value if isinstance(value, (list, tuple)) else [value]
            return ", ".join(labels.get(str(v), str(v)) for v in values)
        if kind == "time":
            text = value.strftime("%H:%M") if isinstance(value, datetime.time) else str(value)
            return text[:5]
        if kind == "percent":
            return f"{round(float(value) * 100)}%"
        if kind == "number":
            return f"{float(value):g}"
        if isinstance(value, datetime.date):
            return value.isoformat()
        return str(value).strip()

    def summarize(self, raw: dict[str, Any]) -> str:
        """How the collapsed block reads, for a raw (JSON) value: "Rain, 5–25 °C", "Not: Mobile"."""
        raw = raw or {}
        shown = {name: self._display(name, raw.get(name)) for name in self.child_blocks if name != "negate"}
        text = ""
        for summary in self.summaries:
            names = _placeholders(str(summary.text))
            if all(shown.get(n) for n in names) and all(raw.get(n) for n in summary.when):
                if not any(raw.get(n) for n in summary.unless):
                    text = _PLACEHOLDER.sub(lambda m: shown[m.group(1)], str(summary.text))
                    break
        else:
            text = ", ".join(v for v in shown.values() if v)
        if text and raw.get("negate"):
            return _PLACEHOLDER.sub(lambda m: text, str(NEGATED_SUMMARY))
        return text

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


_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _placeholders(text: str) -> list[str]:
    return _PLACEHOLDER.findall(text)


class ConditionBlockAdapter(StructBlockAdapter):
    """Condition blocks in the editor: their collapsed header says what they check (`editor.js`)."""

    js_constructor = "tailor.blocks.ConditionBlock"

    def js_args(self, block):
        name, children, meta = super().js_args(block)
        meta["tailorSummary"] = block.summary_spec()
        return [name, children, meta]

    @cached_property
    def media(self):
        return forms.Media(
            js=[versioned_static("wagtailadmin/js/telepath/blocks.js"), versioned_static("tailor_cms/js/editor.js")],
            css={"all": [versioned_static("tailor_cms/css/editor.css")]},
        )


register_adapter(ConditionBlockAdapter(), ConditionBlock)


class TimeOfDayBlock(ConditionBlock):
    condition_type = "time_of_day"
    start = blocks.TimeBlock(label=_("Start"), help_text=_("Visitor's local time, inclusive"))
    end = blocks.TimeBlock(
        label=_("End"), help_text=_("Exclusive; an end before the start runs overnight (22:00–02:00)")
    )
    summaries = (Summary(pgettext_lazy("summary", "%(start)s–%(end)s")),)

    class Meta:
        icon = "time"
        label = _("Time of day")


class DayOfWeekBlock(ConditionBlock):
    condition_type = "day_of_week"
    days = blocks.MultipleChoiceBlock(
        label=_("Days"),
        choices=[(str(i), _(name)) for i, name in enumerate(DAY_NAMES)],
        widget=pills(),
    )
    summaries = (Summary(pgettext_lazy("summary", "%(days)s")),)

    class Meta:
        icon = "date"
        label = _("Day of week")


class DateRangeBlock(ConditionBlock):
    condition_type = "date_range"
    start = blocks.DateBlock(label=_("Start"), required=False)
    end = blocks.DateBlock(label=_("End"), required=False, help_text=_("Inclusive"))
    summaries = (
        Summary(pgettext_lazy("summary", "%(start)s – %(end)s")),
        Summary(pgettext_lazy("summary", "from %(start)s")),
        Summary(pgettext_lazy("summary", "until %(end)s")),
    )

    class Meta:
        icon = "date"
        label = _("Date range")


class WeatherBlock(ConditionBlock):
    condition_type = "weather"
    conditions = blocks.MultipleChoiceBlock(
        label=_("Weather"),
        choices=vocabulary_choices(WEATHER_CONDITIONS, WEATHER_LABELS),
        required=False,
        help_text=_("Any of these (leave empty to test temperature only)"),
        widget=pills(),
    )
    min_temperature = blocks.FloatBlock(label=_("Min temperature"), required=False, help_text=_("°C, inclusive"))
    max_temperature = blocks.FloatBlock(label=_("Max temperature"), required=False, help_text=_("°C, inclusive"))
    summaries = (
        Summary(pgettext_lazy("summary", "%(conditions)s, %(min_temperature)s–%(max_temperature)s °C")),
        Summary(pgettext_lazy("summary", "%(conditions)s, ≥ %(min_temperature)s °C")),
        Summary(pgettext_lazy("summary", "%(conditions)s, ≤ %(max_temperature)s °C")),
        Summary(pgettext_lazy("summary", "%(conditions)s")),
        Summary(pgettext_lazy("summary", "%(min_temperature)s–%(max_temperature)s °C")),
        Summary(pgettext_lazy("summary", "≥ %(min_temperature)s °C")),
        Summary(pgettext_lazy("summary", "≤ %(max_temperature)s °C")),
    )

    class Meta:
        icon = "site"
        label = _("Weather")


class EmotionBlock(ConditionBlock):
    condition_type = "emotion"
    labels = blocks.MultipleChoiceBlock(
        label=pgettext_lazy("emotion condition", "Emotions"),
        choices=vocabulary_choices(EMOTION_LABELS, EMOTION_NAMES),
        widget=pills(),
    )
    min_confidence = blocks.FloatBlock(
        label=_("Min confidence"), default=0.5, min_value=0, max_value=1, help_text=_("0 to 1")
    )
    summaries = (
        Summary(pgettext_lazy("summary", "%(labels)s (≥ %(min_confidence)s)")),
        Summary(pgettext_lazy("summary", "%(labels)s")),
    )
    summary_formats = {"min_confidence": "percent"}

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
    summaries = (Summary(pgettext_lazy("summary", "%(segment)s")),)

    class Meta:
        icon = "group"
        label = _("In segment")


class DeviceBlock(ConditionBlock):
    condition_type = "device"
    devices = blocks.MultipleChoiceBlock(
        label=_("Devices"), choices=vocabulary_choices(DEVICE_CLASSES, DEVICE_LABELS), widget=pills()
    )
    summaries = (Summary(pgettext_lazy("summary", "%(devices)s")),)

    class Meta:
        icon = "mobile-alt"
        label = _("Device")


class CountryBlock(ConditionBlock):
    condition_type = "country"
    countries = blocks.CharBlock(
        label=_("Countries"), max_length=500, help_text=_("Comma-separated codes or names: KR, Japan, Deutschland")
    )
    summaries = (Summary(pgettext_lazy("summary", "%(countries)s")),)

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
    summaries = (Summary(pgettext_lazy("summary", "%(cities)s")),)

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
    summaries = (
        Summary(pgettext_lazy("summary", "%(source)s · %(medium)s · %(campaign)s")),
        Summary(pgettext_lazy("summary", "%(source)s · %(medium)s")),
        Summary(pgettext_lazy("summary", "%(source)s · %(campaign)s")),
        Summary(pgettext_lazy("summary", "%(medium)s · %(campaign)s")),
        Summary(pgettext_lazy("summary", "utm_source %(source)s")),
        Summary(pgettext_lazy("summary", "utm_medium %(medium)s")),
        Summary(pgettext_lazy("summary", "utm_campaign %(campaign)s")),
    )

    class Meta:
        icon = "tag"
        label = _("Campaign (UTM)")


class ReferrerBlock(ConditionBlock):
    condition_type = "referrer"
    pattern = blocks.CharBlock(
        label=_("Pattern"), max_length=300, help_text=_("A domain (google.com) or a pattern (*.example.org/blog/*)")
    )
    summaries = (Summary(pgettext_lazy("summary", "From %(pattern)s")),)

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
    summaries = (
        Summary(pgettext_lazy("summary", "?%(name)s %(operator)s %(value)s")),
        Summary(pgettext_lazy("summary", "?%(name)s %(operator)s")),
    )

    class Meta:
        icon = "search"
        label = _("Query parameter")


class VisitCountBlock(ConditionBlock):
    condition_type = "visit_count"
    min = blocks.IntegerBlock(
        label=_("Min"), required=False, min_value=1, help_text=_("At least this many visits (this one included)")
    )
    max = blocks.IntegerBlock(label=_("Max"), required=False, min_value=1)
    summaries = (
        Summary(pgettext_lazy("summary", "Visits %(min)s–%(max)s")),
        Summary(pgettext_lazy("summary", "Visit %(min)s or later")),
        Summary(pgettext_lazy("summary", "Visit %(max)s or earlier")),
    )

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
    summaries = (
        Summary(pgettext_lazy("summary", "Returning visitor"), when=("returning",)),
        Summary(pgettext_lazy("summary", "New visitor"), unless=("returning",)),
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
    summaries = (
        Summary(pgettext_lazy("summary", "Accepts %(languages)s"), when=("any_preferred",)),
        Summary(pgettext_lazy("summary", "%(languages)s")),
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
    summaries = (
        Summary(pgettext_lazy("summary", "%(key)s %(operator)s %(value)s")),
        Summary(pgettext_lazy("summary", "%(key)s %(operator)s")),
    )

    class Meta:
        icon = "list-ul"
        label = _("Trait")


# --- journeys and predictions (rules.engine.journey, rules.engine.prediction) ---


class JourneyMetricBlock(ConditionBlock):
    condition_type = "journey"
    metric = blocks.ChoiceBlock(
        label=_("Measure"), choices=[(m, _(JOURNEY_METRIC_LABELS[m])) for m in JOURNEY_METRICS], default="product_pages"
    )
    section = blocks.CharBlock(
        label=_("Section"), required=False, max_length=40, help_text=_("For 'pages of a section': e.g. products")
    )
    min = blocks.FloatBlock(label=_("Min"), required=False, min_value=0)
    max = blocks.FloatBlock(label=_("Max"), required=False, min_value=0)

    class Meta:
        icon = "history"
        label = _("Journey")


def stage_choices() -> list[tuple[str, str]]:
    JourneyStage = apps.get_model("tailor_rules", "JourneyStage")
    return [(s.slug, s.name) for s in JourneyStage.objects.order_by("order", "name").only("slug", "name")]


class InJourneyStageBlock(ConditionBlock):
    condition_type = "journey_stage"
    stage = SegmentChoiceBlock(label=_("Stage"), choices=stage_choices)

    class Meta:
        icon = "list-ol"
        label = _("Journey stage")


class LikelyToConvertBlock(ConditionBlock):
    condition_type = "likely_to_convert"
    threshold = blocks.FloatBlock(
        label=_("Threshold"),
        default=0.5,
        min_value=0.01,
        max_value=0.99,
        help_text=_("Predicted probability that this visit converts, 0.01 to 0.99"),
    )

    class Meta:
        icon = "success"
        label = _("Likely to convert")


class LikelyNextSectionBlock(ConditionBlock):
    condition_type = "likely_next_section"
    section = blocks.CharBlock(label=_("Section"), max_length=40, help_text=_("e.g. pricing"))
    min_probability = blocks.FloatBlock(label=_("Min probability"), default=0.3, min_value=0.01, max_value=1)

    class Meta:
        icon = "arrow-right"
        label = _("Likely next section")


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
        JourneyMetricBlock,
        InJourneyStageBlock,
        LikelyToConvertBlock,
        LikelyNextSectionBlock,
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
