"""The context builder split along its concepts (input, headers, consent, providers): what importers rely
on still comes from `rules.context_builder`, and the errors a client or an editor reads are translated."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from django.utils import translation
from django.utils.translation import trans_real

from rules.context_builder import Consent, RequestContext, build_request_context, enrich
from rules.engine import InvalidContext

# A catalogue keyed by the messages as marked (named placeholders not yet filled in).
CATALOGUE = {
    "give latitude and longitude together": "donnez la latitude et la longitude ensemble",
    "must be between -%(limit)s and %(limit)s (got %(value)s)": "doit être entre -%(limit)s et %(limit)s (reçu %(value)s)",
    "at most %(limit)d characters (got %(length)d)": "au plus %(limit)d caractères (reçu %(length)d)",
    "unknown device %(value)r": "appareil inconnu %(value)r",
    "unknown condition %(value)r; use one of %(choices)s": "condition inconnue %(value)r",
    "sent by the frontend": "envoyée par le frontend",
}


@pytest.fixture
def catalogue(monkeypatch):
    """Django's gettext, answering from CATALOGUE (and the engine's hook, which rules.apps points at it)."""
    real = trans_real.gettext

    def gettext(message):
        return CATALOGUE.get(message, real(message))

    monkeypatch.setattr(translation._trans, "gettext", gettext, raising=False)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"latitude": 37.5}, "longitude", "donnez la latitude et la longitude ensemble"),
        ({"latitude": 91, "longitude": 0}, "latitude", "doit être entre -90 et 90 (reçu 91)"),
        ({"city": "x" * 101}, "city", "au plus 100 caractères (reçu 101)"),
        ({"device": "toaster"}, "device", "appareil inconnu 'toaster'"),
        ({"weather": {"condition": "sunny"}}, "weather.condition", "condition inconnue 'sunny'"),
    ],
)
def test_input_errors_are_translated_and_name_the_field(catalogue, data, field, message):
    with pytest.raises(InvalidContext) as excinfo:
        build_request_context(None, data)

    assert excinfo.value.field == field
    assert excinfo.value.message == message


def test_fact_details_an_editor_reads_are_translated(catalogue):
    rc = build_request_context(None, {"weather": {"condition": "rain"}})

    assert rc.ctx.fact("weather").detail == "envoyée par le frontend"


def test_each_layer_still_feeds_the_request_context():
    request = RequestFactory().get(
        "/?utm_source=News",
        HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9",
        HTTP_CF_IPCOUNTRY="KR",
        HTTP_X_VERCEL_IP_LATITUDE="37.5",
        HTTP_X_VERCEL_IP_LONGITUDE="127.0",
        HTTP_SEC_GPC="1",
    )

    rc = build_request_context(request, {"country": "JP", "text": "I am happy", "timezone": "Asia/Seoul"})

    assert isinstance(rc, RequestContext)
    assert rc.consent == Consent(False, False, "Sec-GPC")  # a forwarded opt-out wins over the input
    assert rc.ctx.fact("country").value == "JP" and rc.ctx.fact("country").source == "input"  # input beats headers
    assert rc.ctx.fact("language").value == ("ko-KR", "ko")
    assert rc.ctx.fact("utm").value == {"source": "news"}
    assert rc.coordinates == (37.5, 127.0)  # from the headers, kept private
    assert rc.text == "I am happy" and "text" not in rc.ctx


def test_coordinates_in_the_input_win_over_the_geo_headers():
    request = RequestFactory().get("/", HTTP_X_VERCEL_IP_LATITUDE="1.0", HTTP_X_VERCEL_IP_LONGITUDE="2.0")

    rc = build_request_context(request, {"latitude": 37.5, "longitude": 127.0})

    assert rc.coordinates == (37.5, 127.0)


@pytest.mark.django_db
def test_enrich_asks_no_provider_for_facts_the_page_does_not_read():
    rc = build_request_context(None, {"latitude": 37.5, "longitude": 127.0})

    ctx = enrich(rc, frozenset({"device"}), record_view=False)

    assert "weather" not in ctx
