"""The GraphQL type of `PersonalizedBlock` inside grapple's StreamField interface.

Through `personalizedPage`, `content` is the chosen variant's content in the usual StreamField shape;
through grapple's plain `page` query (no decision) it is the default content, so a frontend that does
not personalize still renders something sensible.
"""

from __future__ import annotations

import graphene
from grapple.registry import registry
from grapple.types.streamfield import StreamFieldInterface

from cms.blocks import PersonalizedBlock
from variants.engine import DEFAULT_VARIANT
from variants.engine.decide import default_variant_name


def _decision(instance, info):
    decisions = getattr(info.context, "tailor_decisions", None) or {}
    return decisions.get(getattr(instance, "id", None))


def _variant_value(struct_value, variant_id):
    for child in struct_value["variants"].bound_blocks:
        if child.id == variant_id:
            return child.value
    return None


class PersonalizedBlockNode(graphene.ObjectType):
    class Meta:
        name = "PersonalizedBlock"
        interfaces = (StreamFieldInterface,)

    slot = graphene.String(required=True)
    policy = graphene.String(required=True)
    variant = graphene.String(required=True, description="The chosen variant's id, or 'default'")
    variant_name = graphene.String(required=True)
    content = graphene.List(graphene.NonNull(StreamFieldInterface), required=True)

    @staticmethod
    def resolve_slot(instance, info):
        return instance.value["slot"]

    @staticmethod
    def resolve_policy(instance, info):
        decision = _decision(instance, info)
        return decision.policy if decision else "DEFAULT"

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
        value = instance.value
        if decision is not None and decision.variant_id != DEFAULT_VARIANT:
            variant = _variant_value(value, decision.variant_id)
            if variant is not None:
                return list(variant["content"])
        return list(value["default"])


def register_block_types() -> None:
    registry.streamfield_blocks[PersonalizedBlock] = PersonalizedBlockNode


class FieldError(graphene.ObjectType):
    """A validation error returned as data by mutations (never an HTTP error)."""

    field = graphene.String(description="The input field at fault, or null for the whole input")
    message = graphene.String(required=True)
