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
from django.utils.functional import cached_property
from wagtail import blocks
from wagtail.blocks.struct_block import StructBlockValidationError
from wagtail.images.blocks import ImageChooserBlock

from rules.engine import ConditionError
from rules.engine import registry as condition_registry

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


#: condition type -> block class; sites add theirs with the `register_tailor_conditions` hook
CONDITION_BLOCKS: dict[str, type[ConditionBlock]] = {
    TimeOfDayBlock.condition_type: TimeOfDayBlock,
    DayOfWeekBlock.condition_type: DayOfWeekBlock,
    DateRangeBlock.condition_type: DateRangeBlock,
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
        if errors:
            raise StructBlockValidationError(block_errors=errors)
        return value

    @cached_property
    def content_block(self) -> blocks.StreamBlock:
        return self.child_blocks["default"]
