"""The personalized region editors author in the normal page editor: a slot with default content
and targeted variants, and how a learning slot learns.

    from variants.blocks import PersonalizedBlock   # also importable from cms.blocks

    body = StreamField([
        ("heading", blocks.CharBlock()),
        ("personalized", PersonalizedBlock()),
    ])

Policies, algorithms and split attributes come from the engine's vocabulary
(`variants.engine.vocabulary`); the learning options are checked by building the policy with the
engine itself.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.urls import NoReverseMatch, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from wagtail import blocks
from wagtail.admin.staticfiles import versioned_static
from wagtail.admin.telepath import register as register_adapter
from wagtail.blocks.struct_block import StructBlockAdapter, StructBlockValidationError
from wagtail.images.blocks import ImageChooserBlock

from rules.blocks import MATCH_CHOICES, ConditionsBlock, pills, vocabulary_choices
from variants.engine import Slot
from variants.engine.policies import PolicyError, make_policy
from variants.engine.vocabulary import (
    ALGORITHM_HELP,
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    LEARNING_POLICIES,
    POLICY_AB,
    POLICY_CONTEXTUAL,
    POLICY_HELP,
    POLICY_RULES,
    REWARD_LABELS,
    REWARDS,
    SLOT_POLICIES,
    SPLIT_ATTRIBUTES,
    SPLIT_LABELS,
)

SLOT_NAME_RE = re.compile(r"^[a-z][a-z0-9_-]{0,63}$")

POLICY_CHOICES = vocabulary_choices(SLOT_POLICIES, POLICY_HELP)
ALGORITHM_CHOICES = vocabulary_choices(ALGORITHMS, ALGORITHM_HELP)
#: what a contextual bandit may learn a separate best variant for
SPLIT_CHOICES = vocabulary_choices(SPLIT_ATTRIBUTES, SPLIT_LABELS)


def relabel(block: blocks.Block, label: Any) -> blocks.Block:
    """Give a block its (translated) label after construction.

    A label given as a constructor argument is part of the block's definition in a host site's
    migrations, so adding one would ask every site for a new migration; set here, it changes what
    editors read and nothing else. (`meta.label` too, so a parent's `set_name` keeps it.) The English
    is what Wagtail would derive from the block's name.
    """
    block.meta.label = block.label = label
    return block


def label_children(block: blocks.Block, labels: dict[str, Any]) -> None:
    for name, label in labels.items():
        relabel(block.child_blocks[name], label)


class ButtonBlock(blocks.StructBlock):
    label = blocks.CharBlock(max_length=80)
    url = blocks.CharBlock(max_length=500, help_text=_("An absolute URL or a path such as /pricing/"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        label_children(self, {"label": pgettext_lazy("button", "Label"), "url": _("Url")})

    class Meta:
        icon = "link"
        label = _("Button")


def default_content_blocks() -> list[tuple[str, blocks.Block]]:
    """The content a variant can hold when the site does not pass its own blocks."""
    return [
        ("heading", relabel(blocks.CharBlock(max_length=200, form_classname="title"), _("Heading"))),
        ("paragraph", relabel(blocks.RichTextBlock(features=["bold", "italic", "link", "ol", "ul"]), _("Paragraph"))),
        ("image", relabel(ImageChooserBlock(), _("Image"))),
        ("button", ButtonBlock()),
    ]


def variant_is_complete(raw: Any) -> bool:
    """Whether a variant's raw value has a name and some content; visitors never see one that has not
    (an autosaved draft may hold a variant an editor has only begun)."""
    if not isinstance(raw, dict):
        return False
    name = raw.get("name")
    return isinstance(name, str) and bool(name.strip()) and bool(raw.get("content"))


def slot_options(policy: str, raw: Any) -> dict[str, Any]:
    """`Slot.options` from a PersonalizedBlock's raw ``options`` (names as `policies.make_policy` reads them).

    Only the learning policies have options; missing or blank values leave the engine's defaults.
    """
    if policy not in LEARNING_POLICIES:
        return {}
    if not isinstance(raw, dict):
        raw = {}  # saved before the block had options
    options: dict[str, Any] = {"algorithm": raw.get("algorithm") or DEFAULT_ALGORITHM}
    if raw.get("reward") in REWARDS:
        options["reward"] = raw["reward"]
    half_life = raw.get("half_life")
    if isinstance(half_life, (int, float)) and not isinstance(half_life, bool) and half_life > 0:
        options["half_life"] = half_life
    if policy == POLICY_CONTEXTUAL:
        split = raw.get("split_by") or []
        split = [s for s in ([split] if isinstance(split, str) else split) if s in SPLIT_ATTRIBUTES]
        options["split_by"] = split or ["segment"]
        minimum = raw.get("min_impressions")
        if isinstance(minimum, int) and not isinstance(minimum, bool) and minimum >= 0:
            options["min_impressions"] = minimum
    return options


class VariantBlock(blocks.StructBlock):
    def __init__(self, content_blocks=None, **kwargs):
        content = content_blocks if content_blocks is not None else default_content_blocks()
        super().__init__(
            [
                ("name", blocks.CharBlock(max_length=80, help_text=_("Shown in reports and reasons"))),
                ("content", blocks.StreamBlock(content, required=False)),
                (
                    "match",
                    blocks.ChoiceBlock(
                        choices=MATCH_CHOICES,
                        default="all",
                        help_text=_("How the conditions below combine"),
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
                        help_text=_(
                            "A/B only: this variant's share of the split, relative to the others' "
                            "(weights 40 and 60 split the visitors 40 to 60)"
                        ),
                    ),
                ),
            ],
            **kwargs,
        )
        label_children(
            self,
            {
                "name": pgettext_lazy("variant", "Name"),
                "content": _("Content"),
                "match": pgettext_lazy("conditions", "Match"),
                "conditions": _("Conditions"),
                "weight": _("Weight"),
            },
        )

    class Meta:
        icon = "snippet"
        label = _("Variant")
        # Without the editor's script a collapsed variant shows its name; with it (`VariantBlockAdapter`)
        # its conditions in short too.
        label_format = "{name}"


class PolicyOptionsBlock(blocks.StructBlock):
    """How a Bandit or Contextual slot learns (ignored by Rules and A/B).

    The names are the engine's (`variants.engine.policies.make_policy`); `slot_options` turns them
    into `Slot.options`.
    """

    algorithm = blocks.ChoiceBlock(choices=ALGORITHM_CHOICES, default=DEFAULT_ALGORITHM)
    reward = blocks.ChoiceBlock(
        choices=vocabulary_choices(REWARDS, REWARD_LABELS),
        default=REWARDS[0],
        help_text=_("What counts as success"),
    )
    split_by = blocks.MultipleChoiceBlock(
        choices=SPLIT_CHOICES,
        required=False,
        help_text=_(
            "Learn a best variant per value of these (default: segment). "
            "With several, the one that pays off most is used."
        ),
        widget=pills(),
    )
    min_impressions = blocks.IntegerBlock(
        default=200,
        min_value=0,
        max_value=1_000_000,
        help_text=_(
            "Impressions an audience needs before it gets its own weights; until then it shares the slot-wide ones"
        ),
    )
    half_life = blocks.IntegerBlock(
        required=False,
        min_value=10,
        max_value=100_000_000,
        help_text=_(
            "Forget old results: after this many newer impressions an old one counts half. "
            "Empty: never forget (right unless what works changes over time)"
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        label_children(
            self,
            {
                "algorithm": _("Algorithm"),
                "reward": _("Reward"),
                "split_by": _("Split by"),
                "min_impressions": _("Min impressions"),
                "half_life": _("Half life"),
            },
        )

    #: the options only a Contextual slot reads (the editor shows them only for it)
    contextual_only = ("split_by", "min_impressions")

    class Meta:
        icon = "cogs"
        label = _("Learning options")
        collapsed = True
        label_format = "{algorithm}"


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
                        help_text=_("Name frontends use for this region, e.g. hero (lowercase, digits, - and _)"),
                    ),
                ),
                ("policy", blocks.ChoiceBlock(choices=POLICY_CHOICES, default=POLICY_RULES)),
                ("options", PolicyOptionsBlock()),
                ("default", blocks.StreamBlock(content, required=False, label=_("Default content"))),
                ("variants", blocks.ListBlock(VariantBlock(content), default=[], max_num=20)),
            ],
            **kwargs,
        )
        label_children(self, {"slot": _("Slot"), "policy": _("Policy"), "variants": _("Variants")})

    class Meta:
        icon = "user"
        label = _("Personalized region")
        template = "tailor_cms/blocks/personalized_block.html"

    def clean(self, value):
        value = super().clean(value)
        errors = {}
        if not SLOT_NAME_RE.match(value.get("slot") or ""):
            errors["slot"] = ValidationError(
                gettext("Use 1-64 lowercase letters, digits, '-' or '_', starting with a letter")
            )
        names = [v.get("name", "").strip().casefold() for v in value.get("variants") or []]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            errors["variants"] = ValidationError(
                gettext("Variant names must be unique: %(names)s") % {"names": ", ".join(dupes)}
            )
        policy_error = self._policy_error(value)
        if policy_error:
            errors["options"] = ValidationError(policy_error)
        if errors:
            raise StructBlockValidationError(block_errors=errors)
        return value

    def _policy_error(self, value) -> str | None:
        """The engine's complaint about the learning options, if any (checked with the engine itself)."""
        policy = value.get("policy") or POLICY_RULES
        raw = self.child_blocks["options"].get_prep_value(value.get("options"))
        try:
            make_policy(Slot(id="check", name="check", policy=policy, options=slot_options(policy, raw)))
        except (PolicyError, ValueError) as e:
            return str(e)
        return None


# --- in the editor ------------------------------------------------------------------------------------
#
# `tailor_cms/js/editor.js` subclasses Wagtail's StructBlock for these: a variant's header says what it
# targets, its priority (Rules) or share (A/B), "Everyone" when it has no conditions, and the warnings
# `cms.editor_checks` works out with the engine; the fields shown follow the policy. Every word it
# shows comes from here, translated for the editor's language.


def editor_media() -> forms.Media:
    return forms.Media(
        js=[versioned_static("wagtailadmin/js/telepath/blocks.js"), versioned_static("tailor_cms/js/editor.js")],
        css={"all": [versioned_static("tailor_cms/css/editor.css")]},
    )


class VariantBlockAdapter(StructBlockAdapter):
    js_constructor = "tailor.blocks.VariantBlock"

    def js_args(self, block):
        name, children, meta = super().js_args(block)
        meta["tailorVariant"] = {
            "unnamed": gettext("(no name)"),
            "separator": {"all": gettext(" · "), "any": gettext(" or ")},
        }
        return [name, children, meta]

    @cached_property
    def media(self):
        return editor_media()


class PersonalizedBlockAdapter(StructBlockAdapter):
    js_constructor = "tailor.blocks.PersonalizedBlock"

    def js_args(self, block):
        name, children, meta = super().js_args(block)
        try:
            checks_url = reverse("tailor_cms:editor_checks")
        except NoReverseMatch:  # the site did not include cms.urls: summaries still work, warnings do not
            checks_url = None
        meta["tailorSlot"] = {
            "checksUrl": checks_url,
            "policies": {"rules": POLICY_RULES, "ab": POLICY_AB, "contextual": POLICY_CONTEXTUAL},
            "learningPolicies": list(LEARNING_POLICIES),
            "contextualOptions": list(PolicyOptionsBlock.contextual_only),
            "strings": {
                "everyone": gettext("Everyone"),
                "everyoneTitle": gettext("No conditions: matches every visitor"),
                "priority": gettext("#%(n)s"),
                "priorityTitle": gettext("Priority under Rules: the first matching variant wins"),
                "shareTitle": gettext("Share of visitors in the A/B split"),
                "shareHint": gettext("= %(share)s of visitors"),
                "incomplete": gettext("Incomplete"),
                "incompleteTitle": gettext("No name or no content: visitors never see it"),
                "warnings": gettext("Warnings"),
            },
        }
        return [name, children, meta]

    @cached_property
    def media(self):
        return editor_media()


register_adapter(VariantBlockAdapter(), VariantBlock)
register_adapter(PersonalizedBlockAdapter(), PersonalizedBlock)
