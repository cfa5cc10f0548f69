"""Typed StreamField blocks in the GraphQL API, through `POST /graphql/`: the button has its own type,
`rawValue` answers on every block (nested ones and the personalized region included), a personalized
region carries its default content and every variant, and the types are as non-null as they can be,
through grapple's `page` query and through `personalizedPage`."""

from __future__ import annotations

import json

import pytest
from wagtail.images import get_image_model
from wagtail.images.tests.utils import get_test_image_file

from cms.blocks import default_content_blocks
from sample_site.home.demo import (
    CTA_VARIANTS,
    button,
    cta_slot,
    heading,
    hero_slot,
    paragraph,
    personalized,
    reading_slot,
    sid,
    variant,
)

SEOUL_MORNING = {"timezone": "Asia/Seoul", "now": "2026-11-30T08:00:00+09:00"}

BLOCK_FIELDS = """
fragment Leaf on StreamFieldInterface {
  __typename id blockType field rawValue
  ... on CharBlock { value }
  ... on RichTextBlock { value }
  ... on ButtonBlock { label url }
  ... on ImageChooserBlock { image { id title } }
}
fragment Region on PersonalizedBlock {
  slot slotId policy variant variantName
  content { ...Leaf }
  defaultContent { ...Leaf }
  variants { id name content { ...Leaf } }
}
fragment Body on HomePage { body { ...Leaf ...Region } }
"""
PAGE = BLOCK_FIELDS + "query ($path: String!) { page(urlPath: $path, inSite: true) { ...Body } }"
PERSONALIZED_PAGE = (
    BLOCK_FIELDS
    + """query ($path: String!, $ctx: ContextInput) {
  personalizedPage(urlPath: $path, inSite: true, context: $ctx) {
    page { ...Body }
    decisions { slot slotId variant variantName policy }
  }
}"""
)
TYPE_FIELDS = """query ($name: String!) { __type(name: $name) {
  name kind interfaces { name } enumValues { name }
  fields { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } }
} }"""

LEAF_TYPES = {
    "heading": "CharBlock",
    "paragraph": "RichTextBlock",
    "button": "ButtonBlock",
    "image": "ImageChooserBlock",
}


# --- what the answers should be, from the demo content's own JSON ------------------------------------------


def leaf(raw: dict) -> dict:
    """The `Leaf` fragment's answer for one block of demo JSON ({"type", "value", "id"})."""
    typename = LEAF_TYPES[raw["type"]]
    common = {"__typename": typename, "id": raw["id"], "blockType": typename, "field": raw["type"]}
    if raw["type"] == "button":
        # rawValue of a struct: its JSON (parsed by `parsed()` before comparing)
        return {**common, "rawValue": raw["value"], "label": raw["value"]["label"], "url": raw["value"]["url"]}
    return {**common, "rawValue": raw["value"], "value": raw["value"]}


def region(raw: dict, *, variant_id: str = "default", policy: str = "DEFAULT") -> dict:
    """The `Region` fragment's answer for a demo slot, showing `variant_id`."""
    value = raw["value"]
    variants = [
        {"id": v["id"], "name": v["value"]["name"], "content": [leaf(c) for c in v["value"]["content"]]}
        for v in value["variants"]
    ]
    chosen = next((v for v in variants if v["id"] == variant_id), None)
    return {
        "__typename": "PersonalizedBlock",
        "id": raw["id"],
        "blockType": "PersonalizedBlock",
        "field": "personalized",
        "rawValue": {
            "slot": value["slot"],
            "policy": value["policy"],
            "default": value["default"],
            "variants": [  # never the targeting: conditions, match and weight stay private
                {**v, "value": {"name": v["value"]["name"], "content": v["value"]["content"]}}
                for v in value["variants"]
            ],
        },
        "slot": value["slot"],
        "slotId": raw["id"],
        "policy": policy,
        "variant": variant_id,
        "variantName": chosen["name"] if chosen else "Default",
        "content": chosen["content"] if chosen else [leaf(c) for c in value["default"]],
        "defaultContent": [leaf(c) for c in value["default"]],
        "variants": variants,
    }


def parsed(block: dict) -> dict:
    """A block of the answer with the rawValue of every struct (button, region) parsed from its JSON."""
    block = dict(block)
    if block.get("__typename") in ("ButtonBlock", "PersonalizedBlock"):
        block["rawValue"] = json.loads(block["rawValue"])
    for key in ("content", "defaultContent"):
        if key in block:
            block[key] = [parsed(b) for b in block[key]]
    if "variants" in block:
        block["variants"] = [{**v, "content": [parsed(b) for b in v["content"]]} for v in block["variants"]]
    return block


def without_default_options(block: dict) -> dict:
    """A region's rawValue keeps its content and leaves out its targeting and learning options."""
    assert "options" not in block["rawValue"]
    assert all(set(v["value"]) == {"name", "content"} for v in block["rawValue"]["variants"])
    return block


def body_of(result: dict, *path: str) -> list[dict]:
    assert "errors" not in result, result["errors"]
    node = result["data"]
    for key in path:
        node = node[key]
    return [parsed(b) for b in node["body"]]


# --- the demo page through grapple's `page` -------------------------------------------------------------------


def test_every_block_of_the_demo_page_answers_with_its_type_fields_and_raw_value(home_page, gql):
    body = body_of(gql(PAGE, {"path": "/"}), "page")

    assert [b["__typename"] for b in body] == [
        "CharBlock",
        "PersonalizedBlock",
        "PersonalizedBlock",
        "PersonalizedBlock",
        "RichTextBlock",
    ]
    assert body[0] == leaf(heading("Welcome to the Tailor demo", "intro"))
    assert body[4] == leaf(paragraph("<p>Everything above was chosen for you. Ask the API why.</p>", "outro"))
    # outside personalizedPage: the default content, policy DEFAULT, and everything the region can show
    assert without_default_options(body[1]) == without_default_options(region(hero_slot()))
    assert without_default_options(body[2]) == without_default_options(region(reading_slot()))
    assert body[3] == region(cta_slot())  # written with its options: the whole stored JSON


def test_the_button_in_a_variant_has_its_own_type_with_label_url_and_raw_json(home_page, gql):
    query = """{ page(urlPath: "/", inSite: true) { ... on HomePage { body { ... on PersonalizedBlock {
      slot variants { name content { __typename id blockType rawValue
        ... on ButtonBlock { label url blocks { field ... on CharBlock { value } } } } } } } } } }"""

    result = gql(query)

    assert "errors" not in result, result
    reading = next(b for b in result["data"]["page"]["body"] if b.get("slot") == "reading")
    (evening,) = reading["variants"]
    assert evening["name"] == "Evening reading list"
    button_block = evening["content"][1]
    assert button_block == {
        "__typename": "ButtonBlock",
        "id": sid("reading", "Evening reading list", "button"),
        "blockType": "ButtonBlock",
        "rawValue": button_block["rawValue"],
        "label": "Open the reading list",
        "url": "/reading-list/",
        "blocks": [{"field": "label", "value": "Open the reading list"}, {"field": "url", "value": "/reading-list/"}],
    }
    assert json.loads(button_block["rawValue"]) == {"label": "Open the reading list", "url": "/reading-list/"}


# --- through personalizedPage -----------------------------------------------------------------------------------


def test_personalized_page_answers_the_chosen_content_with_every_field_and_raw_value(home_page, gql):
    result = gql(PERSONALIZED_PAGE, {"path": "/", "ctx": SEOUL_MORNING})

    body = body_of(result, "personalizedPage", "page")
    decisions = {d["slot"]: d for d in result["data"]["personalizedPage"]["decisions"]}
    # hero: the morning rule; reading: no segment known, the default; cta: the bandit's pick, one of three
    assert without_default_options(body[1]) == without_default_options(
        region(hero_slot(), variant_id=sid("hero", "Morning"), policy="RULES")
    )
    assert without_default_options(body[2]) == without_default_options(region(reading_slot()))
    cta = decisions["cta"]
    assert cta["variantName"] in dict(CTA_VARIANTS)
    assert body[3] == region(cta_slot(), variant_id=cta["variant"], policy="BANDIT")
    label, url = cta["variantName"], dict(CTA_VARIANTS)[cta["variantName"]]
    assert body[3]["content"] == [leaf(button(label, url, "cta", label))]
    assert [b["__typename"] for b in body[::4]] == ["CharBlock", "RichTextBlock"]
    # each region names the decision that chose its content
    for block in body[1:4]:
        decision = decisions[block["slot"]]
        assert (block["slotId"], block["variant"], block["variantName"], block["policy"]) == (
            decision["slotId"],
            decision["variant"],
            decision["variantName"],
            decision["policy"],
        )


def test_a_frontend_can_cache_the_regions_and_pick_the_content_by_the_decisions_variant(home_page, gql):
    plain = body_of(gql(PAGE, {"path": "/"}), "page")
    answers = [
        gql(PERSONALIZED_PAGE, {"path": "/", "ctx": {"timezone": "Asia/Seoul", "now": f"2026-11-30T{t}+09:00"}})
        for t in ("08:00:00", "20:00:00", "14:00:00")
    ]

    for result in answers:
        body = body_of(result, "personalizedPage", "page")
        for block, cached in zip(body[1:4], plain[1:4], strict=True):
            # what every visitor gets alike is identical to grapple's page: cacheable per revision
            same = ("slot", "slotId", "rawValue", "defaultContent", "variants")
            assert {k: block[k] for k in same} == {k: cached[k] for k in same}
            # the decision's variant id picks the content out of the cached variants
            picked = next((v["content"] for v in cached["variants"] if v["id"] == block["variant"]), None)
            assert block["content"] == (cached["defaultContent"] if block["variant"] == "default" else picked)
    hero_names = [body_of(r, "personalizedPage", "page")[1]["variantName"] for r in answers]
    assert hero_names == ["Morning", "Evening", "Default"]


# --- every block a region can hold, nested in a variant ---------------------------------------------------------


@pytest.fixture
def photo(db):
    return get_image_model().objects.create(title="Harbour at dawn", file=get_test_image_file())


def test_heading_paragraph_image_and_button_in_a_variant_each_have_their_type_and_raw_value(make_page, gql, photo):
    image_block = {"type": "image", "value": photo.pk, "id": sid("all", "Everything", "image")}
    content = [
        heading("Everything at once", "all", "Everything"),
        paragraph("<p>A <b>bold</b> claim.</p>", "all", "Everything"),
        image_block,
        button("Go", "/go/", "all", "Everything"),
    ]
    slot = personalized("all", default=[], variants=[variant("all", "Everything", content, conditions=[])])
    make_page("everything", slot)

    answers = {
        "page": gql(PAGE, {"path": "/everything/"}),
        "personalizedPage": gql(PERSONALIZED_PAGE, {"path": "/everything/", "ctx": SEOUL_MORNING}),
    }
    blocks = {
        "page": body_of(answers["page"], "page")[0],
        "personalizedPage": body_of(answers["personalizedPage"], "personalizedPage", "page")[0],
    }

    for block in blocks.values():
        (everything,) = block["variants"]
        got = everything["content"]
        assert [b["__typename"] for b in got] == ["CharBlock", "RichTextBlock", "ImageChooserBlock", "ButtonBlock"]
        assert [b["id"] for b in got] == [c["id"] for c in content]
        assert got[0] == leaf(content[0])
        assert got[1]["rawValue"] == "<p>A <b>bold</b> claim.</p>"
        assert got[2]["image"] == {"id": str(photo.pk), "title": "Harbour at dawn"}
        assert got[2]["rawValue"] == "Harbour at dawn"  # grapple's own image type: str(image), its title
        assert got[3] == leaf(content[3])
        # the region's own rawValue is its stored JSON: the image by id, the button as its struct
        raw_content = block["rawValue"]["variants"][0]["value"]["content"]
        assert raw_content == [dict(c) for c in content]
        assert block["defaultContent"] == []
    # the default (empty) under page; the only, unconditional, variant under personalizedPage
    assert (blocks["page"]["variant"], blocks["page"]["policy"], blocks["page"]["content"]) == (
        "default",
        "DEFAULT",
        [],
    )
    chosen = blocks["personalizedPage"]
    assert (chosen["variant"], chosen["policy"]) == (sid("all", "Everything"), "RULES")
    assert chosen["content"] == chosen["variants"][0]["content"]


# --- the types in the schema -------------------------------------------------------------------------------------


def type_of(field: dict) -> str:
    t = field["type"]

    def render(t):
        if t["kind"] == "NON_NULL":
            return render(t["ofType"]) + "!"
        if t["kind"] == "LIST":
            return "[" + render(t["ofType"]) + "]"
        return t["name"]

    return render(t)


def schema_type(gql, name: str) -> dict:
    result = gql(TYPE_FIELDS, {"name": name})
    assert "errors" not in result, result
    assert result["data"]["__type"] is not None, name
    return result["data"]["__type"]


def fields_of(gql, name: str) -> dict[str, str]:
    return {f["name"]: type_of(f) for f in schema_type(gql, name)["fields"]}


def test_the_block_types_are_typed_and_non_null(db, gql):
    interface = {"id": "String", "blockType": "String!", "field": "String!", "rawValue": "String!"}

    assert fields_of(gql, "PersonalizedBlock") == {
        **interface,
        "slot": "String!",
        "slotId": "String!",
        "policy": "Policy!",
        "variant": "String!",
        "variantName": "String!",
        "content": "[StreamFieldInterface!]!",
        "defaultContent": "[StreamFieldInterface!]!",
        "variants": "[PersonalizedVariant!]!",
    }
    assert fields_of(gql, "PersonalizedVariant") == {
        "id": "String!",
        "name": "String!",
        "content": "[StreamFieldInterface!]!",
    }
    assert fields_of(gql, "ButtonBlock") == {
        **interface,
        "blocks": "[StreamFieldInterface!]!",
        "label": "String!",
        "url": "String!",
    }
    for name in ("PersonalizedBlock", "ButtonBlock"):
        assert schema_type(gql, name)["interfaces"] == [{"name": "StreamFieldInterface"}]
    # the region's policy is the decision's enum, one type
    assert fields_of(gql, "Decision")["policy"] == "Policy!"
    policy = schema_type(gql, "Policy")
    assert policy["kind"] == "ENUM"
    assert [v["name"] for v in policy["enumValues"]] == ["DEFAULT", "RULES", "AB", "BANDIT", "CONTEXTUAL"]
    # the demo page's body: a list that is always there, of blocks that are always there
    assert fields_of(gql, "HomePage")["body"] == "[StreamFieldInterface!]!"


def test_every_block_a_region_can_hold_has_a_named_type_with_its_own_fields(db, gql):
    own = {
        "CharBlock": {"value"},
        "RichTextBlock": {"value"},
        "ImageChooserBlock": {"image"},
        "ButtonBlock": {"label", "url"},
    }
    assert {LEAF_TYPES[name] for name, _ in default_content_blocks()} == set(own)
    for name, fields in own.items():
        assert schema_type(gql, name)["interfaces"] == [{"name": "StreamFieldInterface"}]
        assert fields <= set(fields_of(gql, name)), name
