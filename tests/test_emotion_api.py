"""Emotion from a text signal reaches decisions through the API, with consent, and the text is
never echoed, stored or logged."""

import json
import logging

from rules.models import VisitorProfile

QUERY = """query ($ctx: ContextInput) { personalizedPage(urlPath: "/", inSite: true, context: $ctx) {
  decisions { slot variantName reasons } context { emotion { label confidence } facts { name value source } } } }"""
SAD = "I feel so sad and lonely today, I really miss her"
CONSENT = {"personalization": True, "analytics": False}


def hero(result):
    assert "errors" not in result, result
    return next(d for d in result["data"]["personalizedPage"]["decisions"] if d["slot"] == "hero")


def test_a_sad_text_cheers_the_visitor_up(home_page, gql, caplog):
    caplog.set_level(logging.DEBUG)

    result = gql(QUERY, {"ctx": {"text": SAD, "consent": CONSENT}})

    decision = hero(result)
    assert decision["variantName"] == "Cheer up"
    assert decision["reasons"][0].startswith("Sad (")
    emotion = result["data"]["personalizedPage"]["context"]["emotion"]
    assert emotion["label"] == "SADNESS" and emotion["confidence"] >= 0.5
    everything = json.dumps(result) + caplog.text + json.dumps(list(VisitorProfile.objects.values("data")))
    assert "lonely" not in everything and "miss her" not in everything


def test_without_personalization_consent_the_text_is_not_classified(home_page, gql):
    result = gql(QUERY, {"ctx": {"text": SAD}})

    assert hero(result)["variantName"] != "Cheer up"
    assert result["data"]["personalizedPage"]["context"]["emotion"] is None


def test_an_explicit_emotion_wins_over_the_text(home_page, gql):
    result = gql(QUERY, {"ctx": {"text": SAD, "emotion": "JOY", "consent": CONSENT}})

    assert hero(result)["variantName"] != "Cheer up"
    assert result["data"]["personalizedPage"]["context"]["emotion"] == {"label": "JOY", "confidence": 1.0}
