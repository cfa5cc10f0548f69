"""A host site adds a condition type through the `register_tailor_conditions` hook (tests.testapp):
editors get its block, the engine evaluates it, reasons explain it."""

import pytest
from wagtail.blocks.struct_block import StructBlockValidationError

from cms.blocks import PersonalizedBlock
from sample_site.home.demo import condition, heading, personalized, variant

QUERY = """query ($ctx: ContextInput) { personalizedPage(urlPath: "/vip/", context: $ctx) {
  decisions { variantName reasons } } }"""


def test_the_sites_condition_type_decides_through_the_api(make_page, gql):
    make_page(
        "vip",
        personalized(
            "hero",
            default=[heading("Hello", "vip")],
            variants=[
                variant(
                    "vip",
                    "Gold lounge",
                    [heading("Welcome to the lounge", "vip", "v")],
                    [condition("loyalty_tier", {"minimum": "gold"}, "vip")],
                )
            ],
        ),
    )

    gold = gql(QUERY, {"ctx": {"traits": [{"key": "tier", "text": "platinum"}]}})["data"]["personalizedPage"][
        "decisions"
    ][0]
    silver = gql(QUERY, {"ctx": {"traits": [{"key": "tier", "text": "silver"}]}})["data"]["personalizedPage"][
        "decisions"
    ][0]
    unknown = gql(QUERY, {"ctx": {}})["data"]["personalizedPage"]["decisions"][0]

    assert gold == {"variantName": "Gold lounge", "reasons": ["Loyalty tier gold or higher: platinum"]}
    assert silver["variantName"] == "Default"
    assert unknown["reasons"][1] == "Gold lounge: Loyalty tier gold or higher: loyalty tier unknown"


def test_editors_get_the_sites_block_with_its_validation_at_the_field():
    block = PersonalizedBlock()
    conditions = block.child_blocks["variants"].child_block.child_blocks["conditions"]
    assert "loyalty_tier" in conditions.child_blocks

    tier = conditions.child_blocks["loyalty_tier"]
    with pytest.raises(StructBlockValidationError) as exc:
        tier.clean(tier.to_python({"negate": False, "minimum": "diamond"}))
    assert exc.value.block_errors["minimum"].messages == [
        "unknown tier 'diamond'; use one of bronze, silver, gold, platinum"
    ]
