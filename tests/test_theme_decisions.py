"""The theme a page renders through is part of the explained decision: `PersonalizedPage.theme` says
which theme `renderedHtml` uses, where the choice came from and why, in the visitor's language."""

from __future__ import annotations

import re

import pytest

from variants import rendering

QUERY = """
query($name: String, $now: ContextDateTime, $language: String) {
  personalizedPage(urlPath: "/", inSite: true,
                   context: {timezone: "Asia/Seoul", now: $now, language: $language}) {
    theme(name: $name) { name label source reason }
    renderedHtml(theme: $name)
  }
}"""

HANGUL = re.compile(r"[\uac00-\ud7a3]")


def page(gql, **variables) -> dict:
    answer = gql(QUERY, variables)
    assert "errors" not in answer, answer["errors"]
    return answer["data"]["personalizedPage"]


@pytest.mark.django_db
def test_the_theme_and_its_reason_follow_the_visitors_time(home_page, gql):
    night = page(gql, now="2026-11-30T21:00:00+09:00")
    assert night["theme"] == {
        "name": "midnight",
        "label": "Midnight",
        "source": "CONTEXT",
        "reason": "Theme Midnight: Night 20:00–06:00 (Asia/Seoul)",
    }
    # The explanation names the theme the HTML is rendered through, with the same reason.
    assert 'data-tailor-theme="midnight"' in night["renderedHtml"]
    assert 'data-tailor-theme-reason="Theme Midnight: Night 20:00–06:00 (Asia/Seoul)"' in night["renderedHtml"]
    day = page(gql, now="2026-11-30T08:00:00+09:00")
    assert (day["theme"]["name"], day["theme"]["source"]) == ("daylight", "FALLBACK")


@pytest.mark.django_db
def test_a_theme_asked_for_by_name_says_so(home_page, gql):
    named = page(gql, now="2026-11-30T08:00:00+09:00", name="midnight")
    assert (named["theme"]["name"], named["theme"]["source"]) == ("midnight", "NAMED")
    assert named["theme"]["reason"] == "Theme Midnight: asked for by name"


@pytest.mark.django_db
def test_an_unknown_theme_name_is_an_error_naming_the_argument(home_page, gql):
    answer = gql('{ personalizedPage(urlPath: "/", inSite: true) { theme(name: "neon") { name } } }')
    (error,) = answer["errors"]
    assert error["extensions"]["field"] == "name"
    assert "unknown theme 'neon'" in error["message"] and "midnight" in error["message"]


@pytest.mark.django_db
def test_the_theme_reason_is_worded_in_the_visitors_language(home_page, gql):
    korean = page(gql, now="2026-11-30T21:00:00+09:00", language="ko-KR")
    assert korean["theme"]["name"] == "midnight"
    assert HANGUL.search(korean["theme"]["reason"]), korean["theme"]["reason"]
    assert HANGUL.search(korean["renderedHtml"].split('data-tailor-theme-reason="')[1].split('"')[0])


@pytest.mark.django_db
def test_without_a_themes_app_the_theme_is_null(home_page, gql):
    renderer, chooser = rendering._renderer, rendering._chooser
    rendering.unregister_renderer(renderer)
    try:
        answer = gql('{ personalizedPage(urlPath: "/", inSite: true) { theme { name } } }')
    finally:
        rendering.register_renderer(renderer, choose=chooser)
    assert answer["data"]["personalizedPage"]["theme"] is None
