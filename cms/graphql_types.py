"""The GraphQL types of Tailor's StreamField blocks inside grapple's StreamField interface.

`register_block_types()` (called from `CmsConfig.ready`) adds them to grapple's block registry, the
way grapple maps a block class to its type; a site's subclass of these blocks gets the same type
(grapple looks blocks up along their class hierarchy). The blocks themselves (`variants.blocks`)
know nothing of GraphQL.

`PersonalizedBlock`: through `personalizedPage`, `content` is the chosen variant's content in the
usual StreamField shape; through grapple's plain `page` query (no decision) it is the default
content, so a frontend that does not personalize still renders something sensible. `defaultContent`
and `variants` hold every piece of content the region can show, the same for every visitor, so a
frontend can cache the page per revision and pick a variant by a decision's `variant` id.

`rawValue` of a struct block (a personalized region, a button) is its stored JSON as a string: the
value as Wagtail keeps it, just as grapple's `rawValue` of rich text is its stored source.
"""

from __future__ import annotations

import json

import graphene
from django.core.serializers.json import DjangoJSONEncoder
from grapple.registry import registry
from grapple.types.streamfield import StreamFieldInterface
from grapple.types.streamfield import StructBlock as GrappleStructBlock
from wagtail.blocks import StructValue

from cms.blocks import ButtonBlock, PersonalizedBlock
from variants.engine import DEFAULT_VARIANT
from variants.engine.decide import default_variant_name
from variants.engine.vocabulary import POLICY_DEFAULT
from variants.schema import Policy


def _value(instance):
    """The block's value: grapple hands a resolver either a bound block (`.value`) or, for a struct
    declared with `GraphQLStreamfield(..., is_list=False)`, the StructValue itself."""
    return instance if isinstance(instance, StructValue) else instance.value


def stored_json(instance) -> str:
    """A struct block's value as Wagtail stores it (nested streams with their types and ids), as JSON."""
    prep = instance.block.get_prep_value(_value(instance))
    return json.dumps(prep, cls=DjangoJSONEncoder, ensure_ascii=False)


def _decision(instance, info):
    decisions = getattr(info.context, "tailor_decisions", None) or {}
    return decisions.get(getattr(instance, "id", None))


def _variants(struct_value):
    return struct_value["variants"].bound_blocks


def _variant_value(struct_value, variant_id):
    for child in _variants(struct_value):
        if child.id == variant_id:
            return child.value
    return None


class ButtonBlockNode(GrappleStructBlock):
    """A call to action: a label and where it leads (also `blocks`, like every grapple struct type)."""

    class Meta:
        name = "ButtonBlock"
        interfaces = (StreamFieldInterface,)

    raw_value = graphene.String(required=True, description='The button as JSON: {"label": …, "url": …}')
    label = graphene.String(required=True)
    url = graphene.String(required=True, description="An absolute URL or a path such as /pricing/")

    @staticmethod
    def resolve_label(instance, info):
        return _value(instance)["label"]

    @staticmethod
    def resolve_url(instance, info):
        return _value(instance)["url"]

    @staticmethod
    def resolve_raw_value(instance, info):
        return stored_json(instance)


class PersonalizedVariant(graphene.ObjectType):
    """One variant of a personalized region: what a frontend shows when a decision names its id."""

    id = graphene.String(required=True, description="The variant's stable id (a decision's `variant`)")
    name = graphene.String(required=True)
    content = graphene.List(graphene.NonNull(StreamFieldInterface), required=True)

    @staticmethod
    def resolve_id(child, info):
        return child.id

    @staticmethod
    def resolve_name(child, info):
        return child.value["name"]

    @staticmethod
    def resolve_content(child, info):
        return list(child.value["content"])


class PersonalizedBlockNode(graphene.ObjectType):
    """A personalized region (slot): the content chosen for the visitor, and all it can show."""

    class Meta:
        name = "PersonalizedBlock"
        interfaces = (StreamFieldInterface,)

    raw_value = graphene.String(
        required=True,
        description="The region as JSON: slot, policy, default content and each variant's id, name and content "
        "(never its targeting)",
    )
    slot = graphene.String(required=True, description="The slot's name, e.g. 'hero'")
    slot_id = graphene.String(required=True, description="The slot's stable id (its block id, a decision's `slotId`)")
    policy = graphene.Field(
        Policy, required=True, description="How the content was chosen (DEFAULT outside personalizedPage)"
    )
    variant = graphene.String(required=True, description="The chosen variant's id, or 'default'")
    variant_name = graphene.String(required=True)
    content = graphene.List(
        graphene.NonNull(StreamFieldInterface),
        required=True,
        description="The chosen variant's content (the default content outside personalizedPage)",
    )
    default_content = graphene.List(
        graphene.NonNull(StreamFieldInterface),
        required=True,
        description="What the region shows when no variant is chosen (a decision's variant 'default')",
    )
    variants = graphene.List(
        graphene.NonNull(PersonalizedVariant),
        required=True,
        description="Every variant, the same for every visitor: pick one by a decision's `variant` id",
    )

    @staticmethod
    def resolve_slot(instance, info):
        return _value(instance)["slot"]

    @staticmethod
    def resolve_slot_id(instance, info):
        return instance.id

    @staticmethod
    def resolve_policy(instance, info):
        decision = _decision(instance, info)
        return decision.policy if decision else POLICY_DEFAULT

    @staticmethod
    def resolve_variant(instance, info):
        decision = _decision(instance, info)
        return decision.variant_id if decision else DEFAULT_VARIANT

    @staticmethod
    def resolve_variant_name(instance, info):
        decision = _decision(instance, info)
        return decision.variant_name if decision else default_variant_name()

    @staticmethod
    def resolve_content(instance, info):
        decision = _decision(instance, info)
        value = _value(instance)
        if decision is not None and decision.variant_id != DEFAULT_VARIANT:
            variant = _variant_value(value, decision.variant_id)
            if variant is not None:
                return list(variant["content"])
        return list(value["default"])

    @staticmethod
    def resolve_default_content(instance, info):
        return list(_value(instance)["default"])

    @staticmethod
    def resolve_variants(instance, info):
        return list(_variants(_value(instance)))

    @staticmethod
    def resolve_raw_value(instance, info):
        # The content as stored, without the targeting: a public API must not tell anyone which segments,
        # traits or campaigns a variant is aimed at, nor the learning options.
        prep = instance.block.get_prep_value(_value(instance))
        public = {
            "slot": prep["slot"],
            "policy": prep["policy"],
            "default": prep["default"],
            "variants": [
                {**v, "value": {"name": v["value"]["name"], "content": v["value"]["content"]}} for v in prep["variants"]
            ],
        }
        return json.dumps(public, cls=DjangoJSONEncoder, ensure_ascii=False)


def register_block_types() -> None:
    """Map Tailor's blocks to their GraphQL types in grapple's registry (before grapple builds its schema)."""
    registry.streamfield_blocks[PersonalizedBlock] = PersonalizedBlockNode
    registry.streamfield_blocks[ButtonBlock] = ButtonBlockNode


class FieldError(graphene.ObjectType):
    """A validation error returned as data by mutations (never an HTTP error)."""

    field = graphene.String(description="The input field at fault, or null for the whole input")
    message = graphene.String(required=True)
