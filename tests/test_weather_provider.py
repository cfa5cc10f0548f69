"""The weather provider against a real HTTP server on 127.0.0.1 speaking Open-Meteo's format.

Run alone with: .venv/bin/python -m pytest -p no:django tests/test_weather_provider.py
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from redis.backoff import NoBackoff
from redis.retry import Retry

from rules.engine.context import InvalidContext
from rules.providers.cache import MISSING, MemoryCache, RedisCache, TieredCache
from rules.providers.resilience import CircuitBreaker, UpstreamError, get_json
from rules.providers.weather import (
    CONDITIONS,
    Cell,
    OpenMeteoProvider,
    Weather,
    cell_of,
    condition_for_code,
    parse_current,
    resolve_weather,
    weather_cache,
    weather_from_input,
)
from tests.openmeteo_server import FakeOpenMeteo

SEOUL = (37.5665, 126.978)  # cell 37.5..37.6 x 126.9..127.0, asked upstream as 37.55, 126.95
SEOUL_SAME_CELL = (37.5012, 126.9001)
SEOUL_NEXT_CELL = (37.6001, 126.978)
TIMING_MARGIN = 0.15


class FakeClock:
    def __init__(self, now: float = 1000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def server():
    with FakeOpenMeteo() as fake:
        yield fake


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def make_provider(server, clock):
    def make(**kwargs) -> OpenMeteoProvider:
        kwargs.setdefault("clock", clock)
        return OpenMeteoProvider(server.base_url, **kwargs)

    return make


@pytest.fixture
def redis_client():
    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        client.ping()
    except (redis.RedisError, OSError):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"Redis not reachable at {url} (CI=true: Redis tests must run)")
        pytest.skip(f"Redis not reachable at {url}; start redis-server or set REDIS_URL to run")
    prefix = f"tailor:weather:test-{uuid.uuid4().hex}:"
    yield client, prefix
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


# -- WMO codes -------------------------------------------------------------------------------------

# Written out from the WMO table Open-Meteo documents, independently of the provider's own mapping.
WMO_EXPECTED = {
    0: "clear",  # clear sky
    1: "clear",  # mainly clear
    2: "clouds",  # partly cloudy
    3: "clouds",  # overcast
    45: "fog",
    48: "fog",  # depositing rime fog
    51: "drizzle",
    53: "drizzle",
    55: "drizzle",
    56: "drizzle",  # freezing drizzle
    57: "drizzle",
    61: "rain",
    63: "rain",
    65: "rain",
    66: "rain",  # freezing rain
    67: "rain",
    80: "rain",  # rain showers
    81: "rain",
    82: "rain",
    71: "snow",
    73: "snow",
    75: "snow",
    77: "snow",  # snow grains
    85: "snow",  # snow showers
    86: "snow",
    95: "thunderstorm",
    96: "thunderstorm",  # with slight hail
    99: "thunderstorm",  # with heavy hail
}


@pytest.mark.parametrize(("code", "condition"), sorted(WMO_EXPECTED.items()))
def test_every_wmo_code_maps_to_its_condition(code, condition):
    assert condition_for_code(code) == condition


@pytest.mark.parametrize("code", [c for c in range(-1, 101) if c not in WMO_EXPECTED] + [None, 1000])
def test_codes_outside_the_wmo_table_are_unknown(code):
    assert condition_for_code(code) is None


def test_every_condition_is_reachable_from_some_code():
    assert {condition_for_code(c) for c in WMO_EXPECTED} == set(CONDITIONS)


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
    assert provider.breaker.state == "closed"


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


def test_a_server_dripping_bytes_cannot_stretch_the_deadline(server, make_provider):
    # Each byte arrives well within a per-read socket timeout; only a deadline on the whole exchange
    # stops this. The abandoned exchange must also free its thread instead of reading on.
    server.mode, server.drip_interval = "drip", 0.02

    started = time.monotonic()
    weather = make_provider(timeout=0.2).current(*SEOUL)
    elapsed = time.monotonic() - started

    assert weather is None
    assert elapsed < 0.2 + TIMING_MARGIN
    deadline = time.monotonic() + 1.0
    while any(t.name == "tailor-http-get" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not any(t.name == "tailor-http-get" for t in threading.enumerate())


@pytest.mark.parametrize("mode", ["error", "malformed", "missing", "huge"])
def test_an_unusable_answer_is_unknown_weather_and_counts_as_a_failure(server, make_provider, mode):
    server.mode = mode
    breaker = CircuitBreaker(1, 30)
    provider = make_provider(breaker=breaker)

    assert provider.current(*SEOUL) is None
    assert server.request_count == 1
    assert breaker.state == "open"


def test_a_huge_body_without_content_length_is_cut_off_at_the_size_cap(server):
    server.mode, server.declare_length = "huge", False

    with pytest.raises(UpstreamError, match="larger than 65536 bytes"):
        get_json(f"{server.base_url}/v1/forecast?latitude=1&longitude=2", timeout=2.0)


def test_the_same_answer_under_the_size_cap_is_accepted(server):
    server.mode, server.declare_length, server.huge_bytes = "huge", False, 1000

    data = get_json(f"{server.base_url}/v1/forecast?latitude=1&longitude=2", timeout=2.0)

    assert data["current"]["weather_code"] == 61


def test_an_unreachable_upstream_is_unknown_weather(clock):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = OpenMeteoProvider(f"http://127.0.0.1:{port}", clock=clock)

    assert provider.current(*SEOUL) is None


def test_failures_are_logged_without_coordinates_finer_than_the_cell(server, make_provider, caplog):
    server.mode = "error"

    with caplog.at_level(logging.WARNING, logger="rules.providers"):
        make_provider().current(37.56789, 126.97812)

    (record,) = [r for r in caplog.records if r.name == "rules.providers.weather"]
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


def test_parse_current_converts_local_time_to_utc_and_tolerates_a_missing_temperature():
    payload = {
        "utc_offset_seconds": 32400,
        "current": {"time": "2026-11-30T17:00", "weather_code": 3.0, "is_day": 1},
    }

    weather = parse_current(payload)

    assert weather.observed_at == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert (weather.condition, weather.code, weather.temperature_c, weather.is_day) == (
        "clouds",
        3,
        None,
        True,
    )


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"current": None},
        {"current": {"weather_code": "61"}},
        {"current": {"weather_code": True}},
        {"current": {"weather_code": 61.5}},
        {"error": True, "reason": "Parameter 'current' is invalid"},
    ],
)
def test_parse_current_rejects_answers_without_a_usable_weather_code(payload):
    with pytest.raises(UpstreamError):
        parse_current(payload)


# -- circuit breaker -------------------------------------------------------------------------------


def test_breaker_opens_after_consecutive_failures_and_stops_calling_upstream(server, make_provider, clock):
    server.mode = "error"
    breaker = CircuitBreaker(3, 30.0, clock=clock)
    provider = make_provider(breaker=breaker, negative_ttl=0)  # every call reaches the breaker

    for _ in range(3):
        assert provider.current(*SEOUL) is None
    assert breaker.state == "open"
    for _ in range(5):
        assert provider.current(*SEOUL) is None
    assert server.request_count == 3

    clock.advance(29.9)
    assert provider.current(*SEOUL) is None
    assert server.request_count == 3


def test_breaker_half_opens_after_the_cool_down_and_a_good_trial_closes_it(server, make_provider, clock):
    server.mode = "error"
    breaker = CircuitBreaker(2, 30.0, clock=clock)
    provider = make_provider(breaker=breaker, negative_ttl=0)
    provider.current(*SEOUL), provider.current(*SEOUL)
    assert breaker.state == "open"

    clock.advance(30)
    assert breaker.state == "half_open"
    server.mode = "normal"
    weather = provider.current(*SEOUL)

    assert weather is not None and weather.condition == "rain"
    assert server.request_count == 3
    assert breaker.state == "closed"


def test_a_failed_trial_reopens_the_breaker_for_another_cool_down(server, make_provider, clock):
    server.mode = "error"
    breaker = CircuitBreaker(2, 30.0, clock=clock)
    provider = make_provider(breaker=breaker, negative_ttl=0)
    provider.current(*SEOUL), provider.current(*SEOUL)

    clock.advance(30)
    assert provider.current(*SEOUL) is None  # the trial
    assert server.request_count == 3
    assert breaker.state == "open"
    clock.advance(29)
    provider.current(*SEOUL)
    assert server.request_count == 3
    clock.advance(1)
    provider.current(*SEOUL)
    assert server.request_count == 4


def test_a_success_resets_the_failure_count(clock):
    breaker = CircuitBreaker(3, 30.0, clock=clock)

    breaker.record_failure(), breaker.record_failure()
    breaker.record_success()
    breaker.record_failure(), breaker.record_failure()

    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open"


def test_half_open_lets_exactly_one_of_many_concurrent_callers_through(clock):
    breaker = CircuitBreaker(1, 30.0, clock=clock)
    breaker.record_failure()
    clock.advance(30)
    barrier = threading.Barrier(16)
    allowed = []

    def ask():
        barrier.wait()
        allowed.append(breaker.allow())

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert allowed.count(True) == 1


def test_a_trial_that_never_reports_back_does_not_wedge_the_breaker(clock):
    breaker = CircuitBreaker(1, 30.0, clock=clock)
    breaker.record_failure()
    clock.advance(30)
    assert breaker.allow() is True  # the trial's caller then vanishes without reporting
    assert breaker.allow() is False

    clock.advance(30)

    assert breaker.allow() is True


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


def test_memory_cache_evicts_the_least_recently_used_entry(clock):
    cache = MemoryCache(2, clock=clock)
    cache.set("a", 1, 60)
    cache.set("b", 2, 60)
    cache.get("a")  # a is now more recent than b

    cache.set("c", 3, 60)

    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, MISSING, 3)
    assert len(cache) == 2


def test_memory_cache_keeps_none_apart_from_a_miss(clock):
    cache = MemoryCache(clock=clock)
    cache.set("failed", None, 60)

    assert cache.get("failed") is None
    assert cache.get("never-set") is MISSING


def test_weather_survives_a_json_round_trip_through_a_cache():
    weather = Weather("rain", 3.4, True, 61, "open-meteo", datetime(2026, 11, 30, 8, tzinfo=UTC))

    assert Weather.from_dict(json.loads(json.dumps(weather.to_dict()))) == weather


# -- Redis -----------------------------------------------------------------------------------------


@pytest.mark.redis
def test_redis_shares_the_cache_between_processes(server, clock, redis_client):
    client, prefix = redis_client
    process_a = OpenMeteoProvider(server.base_url, cache=weather_cache(client, prefix=prefix), clock=clock)
    process_b = OpenMeteoProvider(server.base_url, cache=weather_cache(client, prefix=prefix), clock=clock)

    weather_a = process_a.current(*SEOUL)
    weather_b = process_b.current(*SEOUL_SAME_CELL)

    assert weather_a == weather_b and weather_a is not None
    assert server.request_count == 1
    key = prefix + cell_of(*SEOUL).key
    assert json.loads(client.get(key))["condition"] == "rain"
    assert 890 < client.ttl(key) <= 900


@pytest.mark.redis
def test_redis_remembers_a_failure_for_a_minute_only(server, clock, redis_client):
    client, prefix = redis_client
    server.mode = "error"
    provider = OpenMeteoProvider(server.base_url, cache=RedisCache(client, prefix), clock=clock)

    assert provider.current(*SEOUL) is None

    key = prefix + cell_of(*SEOUL).key
    assert client.get(key) == b"null"
    assert 50 < client.ttl(key) <= 60


@pytest.mark.redis
def test_a_corrupt_redis_entry_is_a_miss(server, clock, redis_client):
    client, prefix = redis_client
    client.set(prefix + cell_of(*SEOUL).key, b"\xff not json", ex=60)
    provider = OpenMeteoProvider(server.base_url, cache=RedisCache(client, prefix), clock=clock)

    weather = provider.current(*SEOUL)

    assert weather is not None and weather.condition == "rain"
    assert server.request_count == 1


def test_an_unreachable_redis_degrades_to_no_cache_without_raising(server, clock, caplog):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    down = redis.Redis(
        host="127.0.0.1",
        port=port,
        socket_connect_timeout=0.2,
        socket_timeout=0.2,
        retry=Retry(NoBackoff(), 0),
    )
    cache = RedisCache(down, "tailor:weather:", clock=clock)
    provider = OpenMeteoProvider(server.base_url, cache=cache, clock=clock)

    with caplog.at_level(logging.WARNING, logger="rules.providers"):
        first = provider.current(*SEOUL)
        second = provider.current(*SEOUL)

    assert first is not None and second is not None
    assert server.request_count == 2
    assert any("Redis cache read failed" in r.getMessage() for r in caplog.records)
    assert cache.breaker.state == "open"  # the second request did not wait on Redis again


def test_the_tiered_cache_copies_a_far_hit_near(clock):
    near, far = MemoryCache(clock=clock), MemoryCache(clock=clock)
    far.set("k", {"v": 1}, 900)
    cache = TieredCache(near, far, near_ttl=60)

    assert cache.get("k") == {"v": 1}
    assert near.get("k") == {"v": 1}
    clock.advance(61)
    assert near.get("k") is MISSING


# -- cells -----------------------------------------------------------------------------------------


@given(
    latitude=st.floats(-90, 90),
    longitude=st.floats(-180, 180),
    degrees=st.sampled_from([0.1, 0.25, 0.5, 0.7, 1.0]),
)
def test_every_point_on_the_globe_falls_in_exactly_one_cell_that_contains_it(latitude, longitude, degrees):
    cell = cell_of(latitude, longitude, degrees)

    assert cell.contains(latitude, longitude)
    assert cell.south <= latitude <= cell.north and cell.west <= longitude <= cell.east
    assert 0 < cell.north - cell.south <= degrees + 1e-9
    for d_row, d_column in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        assert not Cell(cell.row + d_row, cell.column + d_column, degrees).contains(latitude, longitude)
    # the point asked upstream lies in the same cell, so the cache key and the question agree
    assert cell_of(*cell.center, degrees) == cell


@pytest.mark.parametrize(
    ("latitude", "longitude", "south", "west"),
    [
        (37.3, 127.0, 37.3, 127.0),  # on a boundary: the cell starting there (floor, not round)
        (37.39, 127.09, 37.3, 127.0),
        (-0.05, -0.05, -0.1, -0.1),
        (90, 180, 89.9, 179.9),  # the last row and column are closed
        (-90, -180, -90, -180),
    ],
)
def test_cells_floor_to_the_grid(latitude, longitude, south, west):
    cell = cell_of(latitude, longitude)

    assert (cell.south, cell.west) == pytest.approx((south, west))


# -- frontend weather ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["temperatureC", "temperature_c", "temperature"])
def test_frontend_weather_accepts_each_temperature_spelling(key):
    weather = weather_from_input({"condition": "Rain", key: 12.5})

    assert weather == Weather("rain", 12.5, source="input")


@pytest.mark.parametrize(
    ("data", "field", "fragment"),
    [
        ({"condition": "sunny"}, "weather.condition", "clear, clouds, fog"),
        ({"condition": 3}, "weather.condition", "unknown condition"),
        ({"temperatureC": 61}, "weather.temperatureC", "outside [-90, 60]"),
        ({"temperature": -90.5}, "weather.temperature", "outside"),
        ({"temperature_c": math.nan}, "weather.temperature_c", "expected a temperature"),
        ({"temperatureC": "12"}, "weather.temperatureC", "expected a temperature"),
        ({"temperatureC": True}, "weather.temperatureC", "expected a temperature"),
        ({"temperatureC": 1, "temperature": 1}, "weather.temperature", "once"),
        ({"condition": "rain", "temprature": 3}, "weather.temprature", "unknown weather field"),
        ({"condition": "rain", "isDay": "yes"}, "weather.isDay", "true or false"),
        ({}, "weather", "condition and/or a temperature"),
        ("rain", "weather", "expected an object"),
    ],
)
def test_invalid_frontend_weather_names_the_field(data, field, fragment):
    with pytest.raises(InvalidContext) as excinfo:
        weather_from_input(data)

    assert excinfo.value.field == field
    assert fragment in excinfo.value.message


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
