"""Issue 10 A: what every variant targets, in the block editor, and the warnings while editing.

Summaries (`ConditionBlock.summarize`, and the same rules packed for the editor's script), the
controls (pills, field labels, field order), the warnings endpoint (`cms.editor_checks`, deciding
"may never win" with the engine's implication check) and incomplete variants never matching
(`variants.compiler`). The editor's script itself is tested in Chromium (tests/browser/test_variant_editor.py).
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager

import pytest
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.translation import trans_real
from wagtail.admin.telepath import JSContext

from cms.blocks import CONDITION_BLOCKS, PersonalizedBlock
from rules.blocks import ConditionsBlock
from sample_site.home.demo import condition, heading, personalized, variant
from tests.pseudo_locale import pseudo, unmarked_words
from variants.compiler import compile_page
from variants.services import personalize_page

CHECKS = "/tailor/editor-checks/"


def summarize(kind: str, **value) -> str:
    return CONDITION_BLOCKS[kind]().summarize({"negate": False, **value})


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("weather", {"conditions": ["rain"], "min_temperature": 5, "max_temperature": 25}, "Rain, 5–25 °C"),
        ("weather", {"conditions": ["rain", "snow"], "min_temperature": None, "max_temperature": None}, "Rain, Snow"),
        ("weather", {"conditions": [], "min_temperature": None, "max_temperature": 3}, "≤ 3 °C"),
        ("time_of_day", {"start": "18:00:00", "end": "23:00:00"}, "18:00–23:00"),
        ("device", {"devices": ["mobile"]}, "Mobile"),
        ("device", {"devices": ["mobile"], "negate": True}, "Not: Mobile"),
        ("day_of_week", {"days": ["5", "6"]}, "Saturday, Sunday"),
        ("emotion", {"labels": ["sadness"], "min_confidence": 0.5}, "Sadness (≥ 50%)"),
        ("visit_count", {"min": 3, "max": None}, "Visit 3 or later"),
        ("returning_visitor", {"returning": False}, "New visitor"),
        ("returning_visitor", {"returning": True}, "Returning visitor"),
        ("language", {"languages": "ko, en-GB", "any_preferred": True}, "Accepts ko, en-GB"),
        ("date_range", {"start": None, "end": "2026-12-24"}, "until 2026-12-24"),
        ("query_param", {"name": "ref", "operator": "equals", "value": "mail"}, "?ref equals mail"),
    ],
)
def test_a_collapsed_condition_says_what_it_checks(kind, value, expected):
    assert summarize(kind, **value) == expected


@contextmanager
def pseudo_django():
    """Every language Django activates is the pseudo-locale (as in tests/test_i18n.py)."""

    class Pseudo:
        def __init__(self, base):
            self._base = base

        def gettext(self, message):
            return pseudo(message.split(trans_real.CONTEXT_SEPARATOR, 1)[-1])

        def ngettext(self, singular, plural, number):
            return self.gettext(singular if number == 1 else plural)

        def __getattr__(self, name):
            return getattr(self._base, name)

    fake = Pseudo(trans_real.translation(settings.LANGUAGE_CODE))
    saved = trans_real.translation, trans_real._default, getattr(trans_real._active, "value", None)
    trans_real.translation, trans_real._default, trans_real._active.value = (lambda language: fake), fake, fake
    try:
        yield
    finally:
        trans_real.translation, trans_real._default, active = saved
        if active is None:
            del trans_real._active.value
        else:
            trans_real._active.value = active


def assert_marked(texts):
    for text in texts:
        words = unmarked_words(re.sub(r"%\(\w+\)s", "", str(text)))  # placeholders are names, not words
        assert words == [], f"unmarked English in {text!r}"


def test_summaries_go_through_gettext():
    with pseudo_django():
        texts = [
            summarize("device", devices=["mobile"], negate=True),
            summarize("weather", conditions=["rain"], min_temperature=5, max_temperature=25),
            summarize("returning_visitor", returning=True),
        ]
        spec = CONDITION_BLOCKS["weather"]().summary_spec()
    assert_marked(texts)
    assert_marked([s["text"] for s in spec["summaries"]] + [spec["negated"]])


def test_fields_are_labelled_for_what_they_are_and_negate_comes_last():
    weather = CONDITION_BLOCKS["weather"]()
    assert str(weather.child_blocks["conditions"].label) == "Weather"
    assert str(CONDITION_BLOCKS["emotion"]().child_blocks["labels"].label) == "Emotions"
    assert weather.meta.form_layout.children[-1] == "negate"
    assert list(weather.meta.form_layout.children) == list(weather.child_blocks)


@pytest.mark.parametrize(
    ("kind", "name"), [("day_of_week", "days"), ("weather", "conditions"), ("device", "devices"), ("emotion", "labels")]
)
def test_short_lists_of_choices_are_checkboxes_not_a_listbox(kind, name):
    field = CONDITION_BLOCKS[kind]().child_blocks[name].field
    assert isinstance(field.widget, forms.CheckboxSelectMultiple)
    assert 'type="checkbox"' in field.widget.render(name, [])


def test_split_by_is_checkboxes_too():
    options = PersonalizedBlock().child_blocks["options"]
    assert isinstance(options.child_blocks["split_by"].field.widget, forms.CheckboxSelectMultiple)


@pytest.mark.django_db
def test_the_editor_gets_the_summaries_and_the_checks_url_through_telepath():
    packed = JSContext().pack(PersonalizedBlock())
    text = json.dumps(packed)
    assert '"tailor.blocks.PersonalizedBlock"' in text and '"tailor.blocks.VariantBlock"' in text
    assert '"tailor.blocks.ConditionBlock"' in text
    assert '"checksUrl": "/tailor/editor-checks/"' in text
    assert "%(conditions)s, %(min_temperature)s\\u2013%(max_temperature)s \\u00b0C" in text
    assert '"negated": "Not: %(summary)s"' in text
    context = JSContext()
    context.pack(ConditionsBlock())  # a segment's conditions get the script too
    assert "tailor_cms/js/editor.js" in str(context.media)


# --- the warnings ---------------------------------------------------------------------------------


@pytest.fixture
def editor(client, home_page):
    client.force_login(get_user_model().objects.get(username="admin"))
    return client


def draft(vid: str, name: str, conditions=(), content=1, match="all") -> dict:
    return {"id": vid, "name": name, "content": content, "match": match, "conditions": list(conditions)}


RAIN = {
    "type": "weather",
    "value": {"conditions": ["rain"], "min_temperature": "", "max_temperature": "", "negate": False},
}
EVENING = {"type": "time_of_day", "value": {"start": "18:00", "end": "23:00", "negate": False}}
MOBILE = {"type": "device", "value": {"devices": ["mobile"], "negate": False}}


def check(client, policy: str, *variants) -> dict:
    response = client.post(
        CHECKS, json.dumps({"policy": policy, "variants": list(variants)}), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return {vid: [w["code"] for w in v["warnings"]] for vid, v in response.json()["variants"].items()}


def messages(client, policy: str, *variants) -> dict:
    response = client.post(
        CHECKS, json.dumps({"policy": policy, "variants": list(variants)}), content_type="application/json"
    )
    return {vid: [w["message"] for w in v["warnings"]] for vid, v in response.json()["variants"].items()}


def test_a_variant_after_one_that_always_matches_first_may_never_win(editor):
    codes = check(editor, "RULES", draft("a", "Rainy day", [RAIN]), draft("b", "Rainy evening", [RAIN, EVENING]))
    assert codes == {"a": [], "b": ["shadowed"]}
    text = messages(editor, "RULES", draft("a", "Rainy day", [RAIN]), draft("b", "Rainy evening", [RAIN, EVENING]))
    assert text["b"] == [
        "May never win: every visitor it targets also matches “Rainy day” (#1: Rain), which comes first under Rules."
    ]


def test_in_the_other_order_nothing_is_wrong(editor):
    assert check(editor, "RULES", draft("b", "Rainy evening", [RAIN, EVENING]), draft("a", "Rainy day", [RAIN])) == {
        "b": [],
        "a": [],
    }


def test_no_warning_unless_proven(editor):
    # "Mobile" does not imply "Rain": both can win
    assert check(editor, "RULES", draft("a", "Rainy", [RAIN]), draft("b", "Phones", [MOBILE])) == {"a": [], "b": []}


def test_identical_conditions_and_everyone_first(editor):
    codes = check(
        editor,
        "RULES",
        draft("all", "Everyone"),
        draft("a", "Rainy day", [RAIN]),
        draft("b", "Rainy again", [RAIN]),
    )
    assert codes["all"] == ["everyone_first"]
    assert codes["a"] == ["shadowed"]  # the variant for everyone comes first
    assert check(editor, "RULES", draft("a", "Rainy day", [RAIN]), draft("b", "Rainy again", [RAIN]))["b"] == [
        "identical"
    ]


def test_learning_policies_have_no_priority_warnings(editor):
    codes = check(editor, "BANDIT", draft("a", "A"), draft("b", "B"))
    assert codes == {"a": [], "b": []}


def test_incomplete_variants_are_flagged_and_hide_nothing(editor):
    codes = check(
        editor,
        "RULES",
        draft("x", "", [], content=0),  # an autosaved, half-built variant
        draft("a", "Rainy day", [RAIN]),
    )
    assert codes == {"x": ["incomplete", "incomplete"], "a": []}


def test_a_contradiction_never_matches(editor):
    not_rain = {"type": "weather", "value": {**RAIN["value"], "negate": True}}
    assert check(editor, "AB", draft("a", "Odd", [RAIN, not_rain]))["a"] == ["never_matches"]


def test_unfinished_conditions_are_not_judged(editor):
    empty_time = {"type": "time_of_day", "value": {"start": "", "end": "", "negate": False}}
    assert check(editor, "RULES", draft("a", "Rainy", [RAIN]), draft("b", "Later", [RAIN, empty_time])) == {
        "a": [],
        "b": [],
    }


def test_the_endpoint_is_for_admin_users_and_refuses_bad_input(client, editor):
    from django.test import Client

    anonymous = Client()
    assert anonymous.post(CHECKS, "{}", content_type="application/json").status_code == 403
    assert editor.get(CHECKS).status_code == 405
    bad = editor.post(CHECKS, "not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["errors"]
    bad = editor.post(CHECKS, json.dumps({"policy": "NOPE", "variants": []}), content_type="application/json")
    assert bad.status_code == 400 and "NOPE" in bad.json()["errors"][0]


# --- incomplete variants never match ---------------------------------------------------------------


def half_built_page(make_page):
    nameless = {
        "type": "item",
        "id": "half-built",
        "value": {"name": "", "content": [], "match": "all", "conditions": []},
    }
    contentless = variant("hero", "Empty", [], [])
    named = variant(
        "hero",
        "Rainy day",
        [heading("Rain!", "hero", "r")],
        [condition("weather", {"conditions": ["rain"]}, "hero", "r")],
    )
    return make_page("drafty", personalized("hero", [heading("Default", "hero", "d")], [nameless, contentless, named]))


def test_incomplete_variants_are_left_out_of_the_compiled_page(make_page):
    page = half_built_page(make_page)
    slot = compile_page(page).slots[0]
    assert [v.name for v in slot.variants] == ["Rainy day"]


def test_an_incomplete_variant_is_never_chosen(make_page):
    from rules.engine import Context

    page = half_built_page(make_page)
    dry = personalize_page(page, Context.build())
    assert dry.decisions[0].variant_name == "Default"  # before: "Variant 1" (no conditions) matched
    rainy = personalize_page(page, Context.build(weather={"condition": "rain", "temperature_c": 12.0}))
    assert rainy.decisions[0].variant_name == "Rainy day"


def test_the_simulator_ignores_incomplete_variants_of_the_latest_revision(editor, home_page):
    body = list(home_page.body.raw_data)
    hero = next(b for b in body if b["type"] == "personalized")
    hero["value"]["variants"].insert(
        0, {"type": "item", "id": "autosaved", "value": {"name": "", "content": [], "match": "all", "conditions": []}}
    )
    home_page.body = json.dumps(body)
    home_page.save_revision(log_action=False)

    response = editor.post(
        "/admin/tailor/simulator/",
        {"page": home_page.pk, "revision": "latest", "time": "08:00", "timezone": "Asia/Seoul"},
    )
    assert response.status_code == 200
    report = next(s for s in response.context["simulation"].slots if s.name == "hero")
    assert report.decision.variant_name == "Morning"
    assert all(not r.name.startswith("Variant ") for r in report.rows)


def test_a_sites_own_condition_reads_as_its_values_without_summaries():
    from rules.blocks import load_condition_hooks

    load_condition_hooks()  # the test app registers "loyalty_tier" (tests/testapp/wagtail_hooks.py)
    block = ConditionsBlock().child_blocks["loyalty_tier"]
    assert block.summarize({"minimum": "gold", "negate": False}) == "gold"
    assert block.summarize({"minimum": "gold", "negate": True}) == "Not: gold"
