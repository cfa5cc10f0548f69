"""The weather provider against a real HTTP server on 127.0.0.1 speaking Open-Meteo's format, with
Django's own cache backends (LocMemCache, RedisCache) as its cache and pybreaker as its breaker.

Run alone with: .venv/bin/python -m pytest tests/test_weather_provider.py (no database; the Redis tests
need REDIS_URL). The provider is plain Python: the tests build Django's cache backends directly. The
HTTP client and the breaker alone are tested in test_upstream.py, the weather values (WMO codes, cells,
frontend input) in test_weather_values.py. This file stays whole: one concept, the provider's
behaviour, whose sections share the server, cache and clock fixtures.
"""

from __future__ import annotations

import logging
import math
import pickle
import socket
import threading
import time
import uuid
from datetime import UTC, datetime

import pybreaker
import pytest
from django.core.cache.backends.redis import RedisCache

from rules.engine.context import InvalidContext
from rules.providers.cells import cell_of
from rules.providers.open_meteo import OpenMeteoProvider
from rules.providers.weather import Weather, resolve_weather
from tests.openmeteo_server import FakeOpenMeteo
from tests.services import redis_url, require_redis
from tests.weather_support import count_threads_started, locmem_cache

SEOUL = (37.5665, 126.978)  # cell 37.5..37.6 x 126.9..127.0, asked upstream as 37.55, 126.95
SEOUL_SAME_CELL = (37.5012, 126.9001)
SEOUL_NEXT_CELL = (37.6001, 126.978)
# Room for a loaded CI machine: still far below the 2 s a slow or dripping server would take.
TIMING_MARGIN = 0.6


@pytest.fixture
def cache():
    return locmem_cache()


@pytest.fixture
def make_provider(server, cache):
    def make(**kwargs) -> OpenMeteoProvider:
        kwargs.setdefault("cache", cache)
        return OpenMeteoProvider(server.base_url, **kwargs)

    return make


@pytest.fixture
def redis_client():
    client = require_redis()
    prefix = f"tailor-weather-test-{uuid.uuid4().hex}"
    yield client, prefix
    keys = list(client.scan_iter(match=f"*{prefix}*"))
    if keys:
        client.delete(*keys)
    client.close()


def redis_cache(key_prefix: str, url: str | None = None) -> RedisCache:
    """Django's own RedisCache, as CACHES would build it (one per process)."""
    return RedisCache(url or redis_url(), {"KEY_PREFIX": key_prefix})


# -- talking to Open-Meteo -------------------------------------------------------------------------


def test_a_normal_answer_is_parsed_into_weather(server, make_provider):
    server.weather_code, server.temperature, server.is_day = 71, -2.5, 0

    weather = make_provider().current(*SEOUL)

    assert weather == Weather(
        condition="snow",
        temperature_c=-2.5,
        is_day=False,
        code=71,
        source="open-meteo",
        observed_at=datetime(2026, 11, 30, 8, 0, tzinfo=UTC),
    )
    (query,) = server.requests
    assert query["current"] == "temperature_2m,weather_code,is_day"


def test_upstream_is_asked_about_the_cell_centre_not_the_visitor_position(server, make_provider):
    make_provider().current(*SEOUL)

    (query,) = server.requests
    assert (query["latitude"], query["longitude"]) == ("37.55", "126.95")


def test_an_unknown_weather_code_is_an_unknown_condition_not_a_failure(server, make_provider):
    server.weather_code = 42
    provider = make_provider()

    weather = provider.current(*SEOUL)

    assert weather is not None and weather.condition is None and weather.code == 42
    assert weather.temperature_c == 3.4
    assert provider.circuit.state == "closed"


def test_a_slow_server_is_abandoned_at_the_default_timeout(server, make_provider):
    server.mode = "slow"  # answers after 2 s
    provider = make_provider()
    assert provider.timeout == 0.3

    started = time.monotonic()
    weather = provider.current(*SEOUL)
    elapsed = time.monotonic() - started

    assert weather is None
    assert elapsed < 0.3 + TIMING_MARGIN
    assert server.request_count == 1


@pytest.mark.parametrize("mode", ["drip", "drip_body"])
def test_a_server_dripping_bytes_cannot_stretch_the_deadline(server, make_provider, monkeypatch, mode):
    # Each byte arrives well within a per-read socket timeout; only a deadline on the whole exchange
    # stops this, whether the drip is in the headers or in the body. No thread runs the exchange.
    server.mode, server.drip_interval = mode, 0.02
    provider = make_provider(timeout=0.2)
    started_threads = count_threads_started(monkeypatch)

    started = time.monotonic()
    weather = provider.current(*SEOUL)
    elapsed = time.monotonic() - started

    assert weather is None
    assert elapsed < 0.2 + TIMING_MARGIN
    assert started_threads == []


def test_a_fetch_starts_no_thread_and_reuses_its_connection(server, make_provider, monkeypatch):
    provider = make_provider()
    started_threads = count_threads_started(monkeypatch)

    for i in range(5):  # five cells: five upstream requests
        assert provider.current(SEOUL[0] + i * 0.1, SEOUL[1]) is not None

    assert server.request_count == 5
    assert started_threads == []
    assert server.connection_count == 1  # keep-alive: one pooled connection for all five


def test_a_connection_abandoned_at_the_deadline_is_not_reused(server, make_provider):
    server.mode, server.drip_interval = "drip_body", 0.02
    provider = make_provider(timeout=0.2)
    assert provider.current(*SEOUL) is None

    server.mode = "normal"
    weather = provider.current(*SEOUL_NEXT_CELL)

    assert weather is not None and weather.condition == "rain"  # not the rest of the dripped body
    assert server.connection_count == 2


@pytest.mark.parametrize("mode", ["error", "malformed", "missing", "huge"])
def test_an_unusable_answer_is_unknown_weather_and_counts_as_a_failure(server, make_provider, mode):
    server.mode = mode
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=30)
    provider = make_provider(breaker=breaker)

    assert provider.current(*SEOUL) is None
    assert server.request_count == 1
    assert breaker.current_state == "open"


def test_an_unreachable_upstream_is_unknown_weather(cache):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = OpenMeteoProvider(f"http://127.0.0.1:{port}", cache=cache)

    assert provider.current(*SEOUL) is None


def test_failures_are_logged_without_coordinates_finer_than_the_cell(server, make_provider, caplog):
    server.mode = "error"

    with caplog.at_level(logging.WARNING, logger="rules.providers"):
        make_provider().current(37.56789, 126.97812)

    (record,) = [r for r in caplog.records if r.name == "rules.providers.open_meteo"]
    assert record.levelno == logging.WARNING
    message = record.getMessage()
    assert "37.5,126.9" in message and "HTTP 500" in message
    assert "37.56" not in message and "126.97" not in message


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [
        (90.0001, 0, "latitude"),
        (-91, 0, "latitude"),
        (0, 180.5, "longitude"),
        (0, -181, "longitude"),
        (math.nan, 0, "latitude"),
        (0, math.inf, "longitude"),
        (-math.inf, 0, "latitude"),
        ("37.5", 127, "latitude"),
        (True, 127, "latitude"),
        (37.5, None, "longitude"),
    ],
)
def test_invalid_coordinates_raise_value_error_naming_the_field(server, make_provider, latitude, longitude, field):
    with pytest.raises(ValueError) as excinfo:
        make_provider().current(latitude, longitude)

    assert isinstance(excinfo.value, InvalidContext) and excinfo.value.field == field
    assert server.request_count == 0


# -- circuit breaker -------------------------------------------------------------------------------


def test_breaker_opens_after_consecutive_failures_and_stops_calling_upstream(server, make_provider, clock):
    server.mode = "error"
    breaker = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=30.0)
    provider = make_provider(breaker=breaker, negative_ttl=0)  # every call reaches the breaker

    for _ in range(3):
        assert provider.current(*SEOUL) is None
    assert breaker.current_state == "open"
    for _ in range(5):
        assert provider.current(*SEOUL) is None
    assert server.request_count == 3

    clock.advance(29.9)
    assert provider.current(*SEOUL) is None
    assert server.request_count == 3


def test_breaker_half_opens_after_the_cool_down_and_a_good_trial_closes_it(server, make_provider, clock):
    server.mode = "error"
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=30.0)
    provider = make_provider(breaker=breaker, negative_ttl=0)
    provider.current(*SEOUL), provider.current(*SEOUL)
    assert breaker.current_state == "open"

    clock.advance(30)  # pybreaker half-opens on the next call: that call is the trial
    server.mode = "normal"
    weather = provider.current(*SEOUL)

    assert weather is not None and weather.condition == "rain"
    assert server.request_count == 3
    assert breaker.current_state == "closed"


def test_a_failed_trial_reopens_the_breaker_for_another_cool_down(server, make_provider, clock):
    server.mode = "error"
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=30.0)
    provider = make_provider(breaker=breaker, negative_ttl=0)
    provider.current(*SEOUL), provider.current(*SEOUL)

    clock.advance(30)
    assert provider.current(*SEOUL) is None  # the trial
    assert server.request_count == 3
    assert breaker.current_state == "open"
    clock.advance(29)
    provider.current(*SEOUL)
    assert server.request_count == 3
    clock.advance(1)
    provider.current(*SEOUL)
    assert server.request_count == 4


def test_the_failure_that_opens_the_breaker_is_still_logged_and_remembered(server, make_provider, cache, caplog):
    # pybreaker's default replaces the failure that trips it with a CircuitBreakerError; the provider
    # must still see an upstream failure (logged, remembered briefly), not a call turned away.
    server.mode = "error"
    provider = make_provider(breaker=pybreaker.CircuitBreaker(fail_max=1, reset_timeout=30))

    with caplog.at_level(logging.WARNING, logger="rules.providers"):
        assert provider.current(*SEOUL) is None

    assert any("HTTP 500" in r.getMessage() for r in caplog.records)
    assert cache.get(provider.cache_key(cell_of(*SEOUL)), "missing") is None


def test_in_half_open_one_trial_reaches_upstream_whatever_the_cells_asked(server, make_provider, clock):
    server.mode = "error"
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=30.0)
    provider = make_provider(breaker=breaker, negative_ttl=0)
    assert provider.current(*SEOUL) is None
    clock.advance(30)
    server.mode, server.delay = "normal", 0.2
    barrier = threading.Barrier(12)
    answers = []

    def ask(i):
        barrier.wait()
        answers.append(provider.current(-30.05 - i, 150.05))  # twelve different cells

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert server.request_count == 2  # the failure, then one trial
    assert sum(a is not None for a in answers) == 1
    assert breaker.current_state == "closed"


def test_concurrent_fetches_of_different_cells_are_not_serialized_by_the_breaker(server, make_provider):
    # pybreaker's own call() holds a lock across the call: the server would then never hold two
    # requests at once. Counted at the server, not timed, so a loaded CI machine cannot fail it.
    server.delay = 0.5
    provider = make_provider(timeout=5.0)  # a loaded machine must not turn slowness into misses
    barrier = threading.Barrier(8)
    answers = []

    def ask(i):
        barrier.wait()
        answers.append(provider.current(-40.05 - i, 100.05))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert server.most_in_flight >= 2, "the fetches were serialized"
    assert len(answers) == 8 and all(a is not None for a in answers)


# -- caching per cell ------------------------------------------------------------------------------


def test_two_points_in_the_same_cell_share_one_upstream_request(server, make_provider):
    provider = make_provider()

    first = provider.current(*SEOUL)
    second = provider.current(*SEOUL_SAME_CELL)

    assert first == second and first is not None
    assert server.request_count == 1


def test_points_in_different_cells_are_asked_separately(server, make_provider):
    provider = make_provider()

    provider.current(*SEOUL)
    provider.current(*SEOUL_NEXT_CELL)

    assert server.request_count == 2
    assert [q["latitude"] for q in server.requests] == ["37.55", "37.65"]


def test_cached_weather_expires_after_fifteen_minutes(server, make_provider, clock):
    provider = make_provider()
    provider.current(*SEOUL)

    clock.advance(899)
    provider.current(*SEOUL)
    assert server.request_count == 1

    clock.advance(2)
    server.weather_code = 0
    weather = provider.current(*SEOUL)
    assert server.request_count == 2
    assert weather is not None and weather.condition == "clear"


def test_a_failure_is_remembered_briefly_so_a_failing_upstream_is_not_hammered(server, make_provider, clock):
    server.mode = "error"
    provider = make_provider()

    assert provider.current(*SEOUL) is None
    clock.advance(59)
    assert provider.current(*SEOUL) is None
    assert server.request_count == 1

    server.mode = "normal"
    clock.advance(2)
    assert provider.current(*SEOUL) is not None
    assert server.request_count == 2


def test_concurrent_misses_on_one_cell_make_a_single_upstream_request(server, make_provider):
    server.delay = 0.1  # long enough for every thread to arrive while the first is still asking
    provider = make_provider()
    barrier = threading.Barrier(8)
    results = []

    def ask():
        barrier.wait()
        results.append(provider.current(*SEOUL))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert server.request_count == 1
    assert len(results) == 8 and all(r is not None and r.condition == "rain" for r in results)


def test_a_remembered_failure_is_told_apart_from_a_miss(server, make_provider, cache):
    provider = make_provider()
    cache.set(provider.cache_key(cell_of(*SEOUL)), None, 60)  # what a failure leaves

    assert provider.current(*SEOUL) is None
    assert server.request_count == 0
    assert provider.current(*SEOUL_NEXT_CELL) is not None  # a miss asks upstream
    assert server.request_count == 1


def test_cache_keys_name_the_upstream_so_answers_from_another_are_not_reused(server, cache):
    with FakeOpenMeteo(weather_code=0) as other:
        first = OpenMeteoProvider(server.base_url, cache=cache)
        second = OpenMeteoProvider(other.base_url, cache=cache)

        assert first.current(*SEOUL).condition == "rain"
        assert second.current(*SEOUL).condition == "clear"
        assert (server.request_count, other.request_count) == (1, 1)
        assert first.current(*SEOUL_SAME_CELL).condition == "rain"  # each keeps its own answer
        assert server.request_count == 1


# -- Redis (Django's RedisCache) -------------------------------------------------------------------


@pytest.mark.redis
def test_redis_shares_the_cache_between_processes(server, redis_client):
    client, prefix = redis_client
    process_a = OpenMeteoProvider(server.base_url, cache=redis_cache(prefix))
    process_b = OpenMeteoProvider(server.base_url, cache=redis_cache(prefix))

    weather_a = process_a.current(*SEOUL)
    weather_b = process_b.current(*SEOUL_SAME_CELL)

    assert weather_a == weather_b and weather_a is not None
    assert server.request_count == 1
    key = redis_cache(prefix).make_key(process_a.cache_key(cell_of(*SEOUL)))
    assert pickle.loads(client.get(key))["condition"] == "rain"  # Django's RedisCache pickles values
    assert 890 < client.ttl(key) <= 900


@pytest.mark.redis
def test_redis_remembers_a_failure_for_a_minute_only(server, redis_client):
    client, prefix = redis_client
    server.mode = "error"
    provider = OpenMeteoProvider(server.base_url, cache=redis_cache(prefix))

    assert provider.current(*SEOUL) is None

    key = redis_cache(prefix).make_key(provider.cache_key(cell_of(*SEOUL)))
    assert client.exists(key) and pickle.loads(client.get(key)) is None
    assert 50 < client.ttl(key) <= 60


@pytest.mark.redis
def test_a_corrupt_redis_entry_is_a_miss(server, redis_client):
    client, prefix = redis_client
    cache = redis_cache(prefix)
    provider = OpenMeteoProvider(server.base_url, cache=cache)
    client.set(cache.make_key(provider.cache_key(cell_of(*SEOUL))), b"\xff not json", ex=60)

    weather = provider.current(*SEOUL)

    assert weather is not None and weather.condition == "rain"
    assert server.request_count == 1
    assert provider.cache_breaker.current_state == "closed"  # the cache answered: it is not turned off
    assert provider.current(*SEOUL_SAME_CELL) == weather  # the entry was overwritten
    assert server.request_count == 1


def unreachable_redis_cache() -> RedisCache:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return RedisCache(
        f"redis://127.0.0.1:{port}/0",
        {"OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}},
    )


def test_an_unreachable_redis_degrades_to_no_cache_without_raising(server, caplog):
    provider = OpenMeteoProvider(server.base_url, cache=unreachable_redis_cache())

    with caplog.at_level(logging.WARNING, logger="rules.providers"):
        first = provider.current(*SEOUL)
        second = provider.current(*SEOUL)

    assert first is not None and second is not None
    assert server.request_count == 2
    assert any("weather cache read failed" in r.getMessage() for r in caplog.records)
    assert provider.cache_breaker.current_state == "open"  # the second request did not wait on Redis again


def test_while_redis_is_down_the_fallback_cache_stands_in(server, caplog):
    fallback = locmem_cache()
    provider = OpenMeteoProvider(server.base_url, cache=unreachable_redis_cache(), fallback=fallback)

    with caplog.at_level(logging.WARNING, logger="rules.providers"):
        started = time.monotonic()
        first = provider.current(*SEOUL)
        second = provider.current(*SEOUL_SAME_CELL)
        third = provider.current(*SEOUL)

    assert first == second == third and first is not None
    assert server.request_count == 1  # the upstream is not asked again while Redis is down
    assert time.monotonic() - started < 1.0  # one Redis timeout (0.2 s), not one per lookup
    assert fallback.get(provider.cache_key(cell_of(*SEOUL)))["condition"] == "rain"


def test_a_working_cache_never_touches_the_fallback(server, make_provider):
    fallback = locmem_cache()
    provider = make_provider(fallback=fallback)

    provider.current(*SEOUL)

    assert fallback.get(provider.cache_key(cell_of(*SEOUL)), "missing") == "missing"


# -- frontend weather or the provider -------------------------------------------------------------


def test_frontend_weather_wins_and_the_provider_is_not_called(server, make_provider):
    weather = resolve_weather({"condition": "snow", "isDay": True}, make_provider(), *SEOUL)

    assert weather == Weather("snow", None, is_day=True, source="input")
    assert server.request_count == 0


def test_without_frontend_weather_the_provider_answers(server, make_provider):
    provider = make_provider()

    assert resolve_weather(None, provider, *SEOUL).source == "open-meteo"
    assert resolve_weather(None, provider, None, None) is None
    assert resolve_weather(None, None, *SEOUL) is None
    assert server.request_count == 1
