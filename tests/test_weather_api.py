"""Weather reaches decisions through the API: from the frontend, or from an Open-Meteo-shaped
server on 127.0.0.1 (normal, slow and failing answers), and only when a page reads it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.core.cache import InvalidCacheBackendError, caches
from django.test import override_settings

from rules.context_providers import weather_provider
from rules.providers.cells import cell_of
from sample_site.home.demo import condition, heading, personalized, variant
from tests.openmeteo_server import FakeOpenMeteo

ROOT = Path(__file__).resolve().parents[1]

QUERY = """query ($ctx: ContextInput) { personalizedPage(urlPath: "/", inSite: true, context: $ctx) {
  decisions { slot variantName reasons } context { weather { condition temperatureC }
  facts { name source detail } } } }"""
SEOUL_POINT = (37.5665, 126.978)
SEOUL = {"latitude": 37.5665, "longitude": 126.978, "timezone": "Asia/Seoul", "now": "2026-11-30T14:00:00+09:00"}


@pytest.fixture
def open_meteo():
    # A key prefix of its own: the default cache (Redis when REDIS_URL is set) outlives the test.
    prefix = f"tailor-test-{uuid.uuid4().hex[:8]}:"
    with FakeOpenMeteo(weather_code=63, temperature=7.5) as server:
        with override_settings(TAILOR={"WEATHER_URL": server.base_url, "WEATHER_TIMEOUT": 0.3, "REDIS_PREFIX": prefix}):
            yield server
    if os.environ.get("REDIS_URL"):
        client = redis.Redis.from_url(os.environ["REDIS_URL"])
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        client.close()


def hero(result: dict) -> dict:
    assert "errors" not in result, result
    return next(d for d in result["data"]["personalizedPage"]["decisions"] if d["slot"] == "hero")


def test_weather_from_open_meteo_picks_the_rainy_day_variant(home_page, gql, open_meteo):
    result = gql(QUERY, {"ctx": SEOUL})

    assert hero(result)["variantName"] == "Rainy day"
    page = result["data"]["personalizedPage"]
    assert page["context"]["weather"] == {"condition": "RAIN", "temperatureC": 7.5}
    fact = next(f for f in page["context"]["facts"] if f["name"] == "weather")
    assert fact["source"] == "PROVIDER" and fact["detail"].startswith("Open-Meteo")
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


# -- the cache: Django's, named by TAILOR["WEATHER_CACHE"] -------------------------------------------

LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


def test_weather_is_cached_in_the_django_cache_the_settings_name():
    caches_setting = {
        "default": {"BACKEND": LOCMEM, "LOCATION": f"default-{uuid.uuid4().hex}"},
        "weather": {"BACKEND": LOCMEM, "LOCATION": f"weather-{uuid.uuid4().hex}"},
    }
    with FakeOpenMeteo() as server, override_settings(CACHES=caches_setting):
        with override_settings(TAILOR={"WEATHER_URL": server.base_url, "WEATHER_CACHE": "weather"}):
            provider = weather_provider()
            assert provider.current(*SEOUL_POINT).condition == "rain"
            key = provider.cache_key(cell_of(*SEOUL_POINT))

            assert caches["weather"].get(key)["condition"] == "rain"
            assert caches["default"].get(key) is None
            assert provider.current(*SEOUL_POINT) is not None and server.request_count == 1


def test_an_unknown_weather_cache_alias_fails_loudly():
    with override_settings(TAILOR={"WEATHER_CACHE": "no-such-cache"}):
        with pytest.raises(InvalidCacheBackendError):
            weather_provider()


def test_with_the_weather_cache_down_pages_still_get_weather_and_upstream_is_asked_once(home_page, gql, open_meteo):
    with socket.socket() as s:  # Redis that is not there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    caches_setting = {
        "default": {"BACKEND": LOCMEM, "LOCATION": f"default-{uuid.uuid4().hex}"},
        "weather": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        },
    }
    settings = {"WEATHER_URL": open_meteo.base_url, "WEATHER_CACHE": "weather", "REDIS_PREFIX": f"t{uuid.uuid4().hex}:"}
    with override_settings(CACHES=caches_setting, TAILOR=settings):
        first = gql(QUERY, {"ctx": SEOUL})
        second = gql(QUERY, {"ctx": {**SEOUL, "latitude": 37.5601, "longitude": 126.9712}})

    assert hero(first)["variantName"] == hero(second)["variantName"] == "Rainy day"
    assert open_meteo.request_count == 1  # the in-process fallback stood in for the cache


@pytest.mark.parametrize(
    ("redis_url", "backend"),
    [
        ("", "django.core.cache.backends.locmem.LocMemCache"),
        ("redis://127.0.0.1:6379/14", "django.core.cache.backends.redis.RedisCache"),
    ],
)
def test_the_demo_site_caches_in_redis_when_redis_url_is_set(redis_url, backend):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    if redis_url:
        env["REDIS_URL"] = redis_url
    code = "import sample_site.settings as s; c = s.CACHES['default']; print(c['BACKEND'], c.get('LOCATION'))"
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)

    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[0] == backend
    if redis_url:
        assert run.stdout.split()[1] == redis_url
