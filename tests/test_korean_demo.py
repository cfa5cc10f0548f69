"""The Korean demo page: its hero reacts to Korean text (with personalization consent only), the
Korean model reads it, and the visitor's reasons come back in Korean."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from wagtail.models import Locale

from sample_site.home.models import HomePage

QUERY = """query ($ctx: ContextInput, $headers: [HeaderInput!]) {
  personalizedPage(urlPath: "/ko/", inSite: true, context: $ctx, forwardedHeaders: $headers) {
    page { title }
    decisions { slot variantName reasons }
    context { emotion { label confidence } facts { name value source detail } } } }"""
SAD = "오늘 너무 우울해요"
CONSENT = {"personalization": True, "analytics": False}


@pytest.fixture
def korean_page(db) -> HomePage:
    call_command("tailor_demo", stdout=open("/dev/null", "w"))
    return HomePage.objects.get(locale__language_code="ko")


def hero(result: dict) -> dict:
    assert "errors" not in result, result
    return next(d for d in result["data"]["personalizedPage"]["decisions"] if d["slot"] == "hero")


def test_the_demo_has_a_korean_locale_and_a_korean_translation_of_the_home_page(korean_page):
    home = HomePage.objects.get(depth=2)
    assert Locale.objects.filter(language_code="ko").exists()
    assert korean_page.translation_key == home.translation_key
    assert korean_page.live and korean_page.url_path == f"{home.url_path}ko/"
    assert home.get_translation(Locale.objects.get(language_code="ko")) == korean_page
    # Its slots are experiments of their own.
    english_ids = {b.id for b in home.body}
    assert not english_ids & {b.id for b in korean_page.body}
    # Running the command again updates the page in place.
    call_command("tailor_demo", stdout=open("/dev/null", "w"))
    assert HomePage.objects.filter(locale__language_code="ko").count() == 1


def test_a_korean_sad_sentence_shows_the_cheer_up_variant_with_consent(korean_page, gql):
    result = gql(QUERY, {"ctx": {"text": SAD, "consent": CONSENT, "language": "ko-KR"}})

    assert result["data"]["personalizedPage"]["page"]["title"] == "Tailor 데모"
    decision = hero(result)
    assert decision["variantName"] == "힘내요"
    # The reason is in the visitor's language.
    assert decision["reasons"][0].startswith("슬픔 ("), decision["reasons"]
    context = result["data"]["personalizedPage"]["context"]
    assert context["emotion"]["label"].lower() == "sadness" and context["emotion"]["confidence"] >= 0.5
    fact = next(f for f in context["facts"] if f["name"] == "emotion")
    assert fact["detail"] == "한국어 감정 분류기 (텍스트는 보관하지 않음)"
    assert "우울" not in json.dumps(result)  # the text is never echoed


def test_without_consent_the_korean_text_is_not_read(korean_page, gql):
    result = gql(QUERY, {"ctx": {"text": SAD, "language": "ko-KR"}})

    assert hero(result)["variantName"] != "힘내요"
    assert result["data"]["personalizedPage"]["context"]["emotion"] is None


def test_the_model_is_named_in_the_visitors_language_from_the_forwarded_accept_language(korean_page, gql):
    headers = [{"name": "Accept-Language", "value": "en-US,en;q=0.9"}]
    result = gql(QUERY, {"ctx": {"text": SAD, "consent": CONSENT}, "headers": headers})

    decision = hero(result)
    assert decision["variantName"] == "힘내요"
    assert decision["reasons"][0].startswith("Sad ("), decision["reasons"]
    fact = next(f for f in result["data"]["personalizedPage"]["context"]["facts"] if f["name"] == "emotion")
    assert fact["detail"] == "Korean emotion classifier (text not kept)"


def test_reasons_follow_the_requests_accept_language_and_fall_back_to_english(korean_page, gql):
    ctx = {"text": SAD, "consent": CONSENT}
    korean = hero(gql(QUERY, {"ctx": ctx}, HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9,en;q=0.8"))
    assert korean["reasons"][0].startswith("슬픔 ("), korean["reasons"]
    # A language the site does not offer: English.
    french = hero(gql(QUERY, {"ctx": ctx}, HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9"))
    assert french["reasons"][0].startswith("Sad ("), french["reasons"]
    # context.language wins over the header.
    stated = hero(gql(QUERY, {"ctx": {**ctx, "language": "en"}}, HTTP_ACCEPT_LANGUAGE="ko-KR"))
    assert stated["reasons"][0].startswith("Sad ("), stated["reasons"]
