"""Weather as values: the WMO code table, Open-Meteo's answer parsed, the grid of cells, and the weather a
frontend sends (validated, translated errors). Plain Python: no server, no cache."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rules.engine import i18n
from rules.engine.context import InvalidContext
from rules.providers.cells import Cell, cell_of
from rules.providers.open_meteo import parse_current
from rules.providers.upstream import UpstreamError
from rules.providers.weather import CONDITIONS, Weather, condition_for_code, weather_from_input

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


# -- Open-Meteo's answer -------------------------------------------------------------------------


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


def test_weather_survives_a_json_round_trip_through_a_cache():
    weather = Weather("rain", 3.4, True, 61, "open-meteo", datetime(2026, 11, 30, 8, tzinfo=UTC))

    assert Weather.from_dict(json.loads(json.dumps(weather.to_dict()))) == weather


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


def test_frontend_weather_errors_go_through_the_translation_hook(monkeypatch):
    # The catalogue is looked up by the message with its named placeholders, before they are filled in.
    catalogue = {"%(value)s °C is outside [%(lo)s, %(hi)s] °C": "%(value)s °C : hors de [%(lo)s, %(hi)s] °C"}
    monkeypatch.setattr(i18n, "_translator", lambda message: catalogue.get(message, message))

    with pytest.raises(InvalidContext) as excinfo:
        weather_from_input({"temperatureC": 61})

    assert excinfo.value.message == "61 °C : hors de [-90, 60] °C"
