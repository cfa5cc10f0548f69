"""Weather reaches decisions through the API: from the frontend, or from an Open-Meteo-shaped
server on 127.0.0.1 (normal, slow and failing answers), and only when a page reads it."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from tests.openmeteo_server import FakeOpenMeteo

QUERY = """query ($ctx: ContextInput) { personalizedPage(urlPath: "/", inSite: true, context: $ctx) {
  decisions { slot variantName reasons } context { weather { condition temperatureC }
  facts { name source detail } } } }"""
SEOUL = {"latitude": 37.5665, "longitude": 126.978, "timezone": "Asia/Seoul", "now": "2026-11-30T14:00:00+09:00"}


@pytest.fixture
def open_meteo():
    with FakeOpenMeteo(weather_code=63, temperature=7.5) as server:
        with override_settings(TAILOR={"WEATHER_URL": server.base_url, "WEATHER_TIMEOUT": 0.3}):
            yield server


def hero(result: dict) -> dict:
    assert "errors" not in result, result
    return next(d for d in result["data"]["personalizedPage"]["decisions"] if d["slot"] == "hero")


def test_weather_from_open_meteo_picks_the_rainy_day_variant(home_page, gql, open_meteo):
    result = gql(QUERY, {"ctx": SEOUL})

    assert hero(result)["variantName"] == "Rainy day"
    page = result["data"]["personalizedPage"]
    assert page["context"]["weather"] == {"condition": "rain", "temperatureC": 7.5}
    fact = next(f for f in page["context"]["facts"] if f["name"] == "weather")
    assert fact["source"] == "provider" and fact["detail"].startswith("Open-Meteo")
    # Open-Meteo is asked about the centre of the 0.1° cell, never the visitor's own coordinates.
    (request,) = open_meteo.requests
    assert request["latitude"] != str(SEOUL["latitude"])


def test_nearby_visitors_share_one_upstream_request(home_page, gql, open_meteo):
    gql(QUERY, {"ctx": SEOUL})
    gql(QUERY, {"ctx": {**SEOUL, "latitude": 37.5601, "longitude": 126.9712}})

    assert open_meteo.request_count == 1


def test_weather_sent_by_the_frontend_wins_and_the_provider_is_not_asked(home_page, gql, open_meteo):
    result = gql(QUERY, {"ctx": {**SEOUL, "weather": {"condition": "CLEAR", "temperatureC": 20}}})

    assert hero(result)["variantName"] == "Default"
    assert open_meteo.request_count == 0


def test_a_slow_upstream_costs_at_most_the_timeout_and_weather_stays_unknown(home_page, gql, open_meteo):
    open_meteo.mode = "slow"
    open_meteo.delay = 2.0

    started = time.monotonic()
    result = gql(QUERY, {"ctx": SEOUL})
    elapsed = time.monotonic() - started

    assert elapsed < 1.5
    decision = hero(result)
    assert decision["variantName"] == "Default"
    assert any("weather unknown" in r for r in decision["reasons"])


@pytest.mark.parametrize("mode", ["error", "malformed", "missing"])
def test_a_failing_upstream_leaves_weather_unknown_without_an_error(home_page, gql, open_meteo, mode):
    open_meteo.mode = mode

    result = gql(QUERY, {"ctx": SEOUL})

    assert hero(result)["variantName"] == "Default"
    assert result["data"]["personalizedPage"]["context"]["weather"] is None


def test_pages_that_do_not_read_weather_never_call_the_provider(make_page, gql, open_meteo):
    from sample_site.home.demo import condition, heading, personalized, variant

    make_page(
        "plain",
        personalized(
            "hero",
            default=[heading("Hi", "plain")],
            variants=[
                variant(
                    "plain",
                    "Mobile",
                    [heading("Phone", "plain", "m")],
                    [condition("device", {"devices": ["mobile"]}, "plain")],
                )
            ],
        ),
    )

    gql(
        'query ($ctx: ContextInput) { personalizedPage(urlPath: "/plain/", context: $ctx) { cacheKey } }',
        {"ctx": SEOUL},
    )

    assert open_meteo.request_count == 0
