"""StreamField blocks: the personalized region editors author in the normal page editor.

    from cms.blocks import PersonalizedBlock

    body = StreamField([
        ("heading", blocks.CharBlock()),
        ("personalized", PersonalizedBlock()),
    ])

A `PersonalizedBlock` holds a slot name, the default content, and variants (name, content, targeting
conditions, weight). Each condition block is validated by the engine's condition registry, so an
invalid setting is refused at its field with the engine's own message.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.images.blocks import ImageChooserBlock

from rules.engine import ConditionError
from rules.engine import registry as condition_registry
from rules.engine.device import DEVICE_CLASSES
from rules.engine.signals import EMOTION_LABELS, WEATHER_CONDITIONS

SLOT_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

POLICY_CHOICES = [
    ("RULES", "Rules: the first variant whose conditions match"),
    ("AB", "A/B: fixed split by weight among the matching variants"),
    ("BANDIT", "Bandit: learn which matching variant converts best"),
    ("CONTEXTUAL", "Contextual bandit: learn the best variant per audience"),
]


class ButtonBlock(blocks.StructBlock):
    label = blocks.CharBlock(max_length=80)
    url = blocks.CharBlock(max_length=500, help_text="An absolute URL or a path such as /pricing/")

    class Meta:
        icon = "link"


def default_content_blocks() -> list[tuple[str, blocks.Block]]:
    """The content a variant can hold when the site does not pass its own blocks."""
    return [
        ("heading", blocks.CharBlock(max_length=200, form_classname="title")),
        ("paragraph", blocks.RichTextBlock(features=["bold", "italic", "link", "ol", "ul"])),
        ("image", ImageChooserBlock()),
        ("button", ButtonBlock()),
    ]


# ---------------------------------------------------------------------------------------------
# Condition blocks


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
        choices=[
            ("0", "Monday"),
            ("1", "Tuesday"),
            ("2", "Wednesday"),
            ("3", "Thursday"),
            ("4", "Friday"),
            ("5", "Saturday"),
            ("6", "Sunday"),
        ],
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


def _choices(values) -> list[tuple[str, str]]:
    return [(v, v.capitalize()) for v in values]


class WeatherBlock(ConditionBlock):
    condition_type = "weather"
    conditions = blocks.MultipleChoiceBlock(
        choices=_choices(WEATHER_CONDITIONS),
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
    labels = blocks.MultipleChoiceBlock(choices=_choices(EMOTION_LABELS))
    min_confidence = blocks.FloatBlock(default=0.5, min_value=0, max_value=1, help_text="0 to 1")

    class Meta:
        icon = "pick"
        label = "Emotion"


def segment_choices() -> list[tuple[str, str]]:
    from rules.models import Segment

    return [(s.slug, s.name) for s in Segment.objects.order_by("name").only("slug", "name")]


class InSegmentBlock(ConditionBlock):
    condition_type = "in_segment"
    segment = blocks.ChoiceBlock(choices=segment_choices)

    class Meta:
        icon = "group"
        label = "In segment"


class DeviceBlock(ConditionBlock):
    condition_type = "device"
    devices = blocks.MultipleChoiceBlock(choices=_choices(DEVICE_CLASSES))

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
            from cms.hooks import load_condition_hooks

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
        return ("cms.blocks.ConditionsBlock", (), self._constructor_kwargs)

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


# ---------------------------------------------------------------------------------------------
# The personalized region


class VariantBlock(blocks.StructBlock):
    def __init__(self, content_blocks=None, **kwargs):
        content = content_blocks if content_blocks is not None else default_content_blocks()
        super().__init__(
            [
                ("name", blocks.CharBlock(max_length=80, help_text="Shown in reports and reasons")),
                ("content", blocks.StreamBlock(content, required=False)),
                (
                    "match",
                    blocks.ChoiceBlock(
                        choices=[("all", "All conditions"), ("any", "Any condition")],
                        default="all",
                        help_text="How the conditions below combine",
                    ),
                ),
                ("conditions", ConditionsBlock()),
                (
                    "weight",
                    blocks.FloatBlock(
                        required=False,
                        default=1.0,
                        min_value=0,
                        max_value=1000,
                        help_text="Share in an A/B split (relative to the other variants)",
                    ),
                ),
            ],
            **kwargs,
        )

    class Meta:
        icon = "snippet"
        label = "Variant"


ALGORITHM_CHOICES = [
    ("thompson", "Thompson sampling (recommended)"),
    ("top_two", "Top-two Thompson sampling: tells close variants apart faster"),
    ("ucb1", "UCB1"),
    ("epsilon_greedy", "ε-greedy: 10% of traffic explores evenly"),
]

#: what a contextual bandit may learn a separate best variant for
SPLIT_CHOICES = [
    ("segment", "Segment"),
    ("device", "Device"),
    ("daypart", "Time of day (morning, afternoon, evening, night)"),
    ("weekday", "Weekday or weekend"),
    ("country", "Country"),
]


class PolicyOptionsBlock(blocks.StructBlock):
    """How a Bandit or Contextual slot learns (ignored by Rules and A/B).

    The names are the engine's (`variants.engine.policies.make_policy`); `variants.compiler` passes
    them on as `Slot.options`.
    """

    algorithm = blocks.ChoiceBlock(choices=ALGORITHM_CHOICES, default="thompson")
    reward = blocks.ChoiceBlock(
        choices=[("conversion", "Conversions"), ("click", "Clicks")],
        default="conversion",
        help_text="What counts as success",
    )
    split_by = blocks.MultipleChoiceBlock(
        choices=SPLIT_CHOICES,
        required=False,
        help_text="Contextual only: learn a best variant per value of these (default: segment). "
        "With several, the one that pays off most is used.",
    )
    min_impressions = blocks.IntegerBlock(
        default=200,
        min_value=0,
        max_value=1_000_000,
        help_text="Contextual only: impressions an audience needs before it gets its own weights; "
        "until then it shares the slot-wide ones",
    )
    half_life = blocks.IntegerBlock(
        required=False,
        min_value=10,
        max_value=100_000_000,
        help_text="Forget old results: after this many newer impressions an old one counts half. "
        "Empty: never forget (right unless what works changes over time)",
    )

    class Meta:
        icon = "cogs"
        label = "Learning options"
        collapsed = True


class PersonalizedBlock(blocks.StructBlock):
    """A personalizable region (slot): default content plus targeted variants.

    `content_blocks` is the list of (name, block) a variant's content may hold; by default headings,
    rich text, images and buttons.
    """

    def __init__(self, content_blocks=None, **kwargs):
        content = content_blocks if content_blocks is not None else default_content_blocks()
        super().__init__(
            [
                (
                    "slot",
                    blocks.CharBlock(
                        max_length=64,
                        help_text="Name frontends use for this region, e.g. hero (lowercase, digits, - and _)",
                    ),
                ),
                ("policy", blocks.ChoiceBlock(choices=POLICY_CHOICES, default="RULES")),
                ("options", PolicyOptionsBlock()),
                ("default", blocks.StreamBlock(content, required=False, label="Default content")),
                ("variants", blocks.ListBlock(VariantBlock(content), default=[], max_num=20)),
            ],
            **kwargs,
        )

    class Meta:
        icon = "user"
        label = "Personalized region"
        template = "tailor_cms/blocks/personalized_block.html"

    def clean(self, value):
        value = super().clean(value)
        errors = {}
        if not SLOT_NAME_RE.match(value.get("slot") or ""):
            errors["slot"] = ValidationError("Use 1-64 lowercase letters, digits, '-' or '_', starting with a letter")
        names = [v.get("name", "").strip().casefold() for v in value.get("variants") or []]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            errors["variants"] = ValidationError(f"Variant names must be unique: {', '.join(dupes)}")
        policy_error = self._policy_error(value)
        if policy_error:
            errors["options"] = ValidationError(policy_error)
        if errors:
            raise StructBlockValidationError(block_errors=errors)
        return value

    def _policy_error(self, value) -> str | None:
        """The engine's complaint about the learning options, if any (checked with the engine itself)."""
        from variants.compiler import slot_options
        from variants.engine import Slot
        from variants.engine.policies import PolicyError, make_policy

        policy = value.get("policy") or "RULES"
        raw = self.child_blocks["options"].get_prep_value(value.get("options"))
        try:
            make_policy(Slot(id="check", name="check", policy=policy, options=slot_options(policy, raw)))
        except (PolicyError, ValueError) as e:
            return str(e)
        return None
