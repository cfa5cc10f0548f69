"""Every non-time condition type, through the public path: `registry.build(spec)` then `evaluate`."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from rules.engine import ConditionError, Context, classify_device, registry
from rules.engine.geo import _COUNTRY_ALIASES, COUNTRY_NAMES, _name_key, normalize_city, resolve_country


def evaluate(spec: dict, **facts):
    return registry.build(spec).evaluate(Context.build(**facts))


RAIN_SEOUL = {"condition": "rain", "temperature_c": 12.0}

# (spec, facts, expected value, a fragment the reason must contain)
CASES = [
    # weather
    (
        {"type": "weather", "conditions": ["rain", "snow"]},
        {"weather": RAIN_SEOUL, "city": "Seoul"},
        True,
        "Rainy in Seoul",
    ),
    ({"type": "weather", "conditions": ["clear"]}, {"weather": RAIN_SEOUL}, False, "Rainy"),
    ({"type": "weather", "min_temperature": 10, "max_temperature": 15}, {"weather": RAIN_SEOUL}, True, "12°C"),
    ({"type": "weather", "min_temperature": 15}, {"weather": RAIN_SEOUL}, False, "at least 15°C"),
    (
        {"type": "weather", "conditions": ["rain"], "max_temperature": 12},
        {"weather": RAIN_SEOUL, "city": "Seoul"},
        True,
        "Rainy, 12°C in Seoul",
    ),
    # a known mismatch decides even when the other half is unknown (Kleene "and")
    (
        {"type": "weather", "conditions": ["snow"], "min_temperature": 0},
        {"weather": {"condition": "rain", "temperature_c": None}},
        False,
        "Rainy",
    ),
    (
        {"type": "weather", "conditions": ["rain"], "min_temperature": 0},
        {"weather": {"condition": "rain", "temperature_c": None}},
        None,
        "temperature unknown",
    ),
    (
        {"type": "weather", "conditions": ["rain"]},
        {"weather": {"condition": None, "temperature_c": 3.0}},
        None,
        "weather condition unknown",
    ),
    # emotion
    (
        {"type": "emotion", "labels": ["joy"]},
        {"emotion": {"label": "joy", "confidence": 0.82}},
        True,
        "Joyful (82% confidence)",
    ),
    (
        {"type": "emotion", "labels": ["joy"], "min_confidence": 0.9},
        {"emotion": {"label": "joy", "confidence": 0.82}},
        False,
        "needs 90%",
    ),
    (
        {"type": "emotion", "labels": ["joy", "surprise"]},
        {"emotion": {"label": "sadness", "confidence": 0.99}},
        False,
        "Sad, not joy or surprise",
    ),
    ({"type": "emotion", "labels": ["joy"]}, {"emotion": {"label": "joy"}}, None, "confidence unknown"),
    # segments
    (
        {"type": "in_segment", "segment": "rainy-readers", "name": "Rainy-day readers"},
        {"segments": frozenset({"rainy-readers", "vip"})},
        True,
        "Rainy-day readers",
    ),
    (
        {"type": "in_segment", "segment": "rainy-readers"},
        {"segments": frozenset({"vip"})},
        False,
        "Not in segment “rainy-readers”",
    ),
    # device
    ({"type": "device", "devices": ["mobile"]}, {"device": "mobile"}, True, "Mobile device"),
    (
        {"type": "device", "devices": ["mobile", "tablet"]},
        {"device": "desktop"},
        False,
        "Desktop, not mobile or tablet",
    ),
    ({"type": "device", "devices": ["desktop"]}, {"device": "phone"}, None, "device 'phone' unknown"),
    # country
    ({"type": "country", "countries": ["KR"]}, {"country": "KR"}, True, "In South Korea"),
    ({"type": "country", "countries": ["South Korea", "Japan"]}, {"country": "JP"}, True, "In Japan"),
    ({"type": "country", "countries": ["대한민국"]}, {"country": "kr"}, True, "In South Korea"),
    ({"type": "country", "countries": ["KR", "JP"]}, {"country": "US"}, False, "In United States, not South Korea"),
    ({"type": "country", "countries": ["KR"]}, {"country": "XX"}, None, "country 'XX' unknown"),
    # city
    ({"type": "city", "cities": ["Seoul"]}, {"city": "Seoul"}, True, "In Seoul"),
    ({"type": "city", "cities": ["Seoul"]}, {"city": "seoul-si"}, True, "In Seoul (“seoul-si”)"),
    ({"type": "city", "cities": ["Seoul"]}, {"city": "Seoul Special City"}, True, "In Seoul"),
    ({"type": "city", "cities": ["Seoul"]}, {"city": "Seould"}, True, "% alike"),
    ({"type": "city", "cities": ["Seoul", "서울"]}, {"city": "서울특별시"}, True, "In 서울"),
    ({"type": "city", "cities": ["Seoul"]}, {"city": "서울"}, False, "not Seoul"),
    ({"type": "city", "cities": ["Seoul"]}, {"city": "Busan"}, False, "In “Busan”, not Seoul"),
    ({"type": "city", "cities": ["Seoul"]}, {"city": "Seoul, South Korea"}, True, "In Seoul"),
    ({"type": "city", "cities": ["Seoul"], "threshold": 100}, {"city": "Seould"}, False, "not Seoul"),
    # utm
    (
        {"type": "utm", "source": "newsletter"},
        {"utm": {"source": "newsletter", "medium": "email"}},
        True,
        "Campaign utm_source=newsletter",
    ),
    (
        {"type": "utm", "source": "Newsletter", "campaign": "spring*"},
        {"utm": {"source": "newsletter", "campaign": "spring-sale"}},
        True,
        "Campaign utm_source=newsletter, utm_campaign=spring-sale",
    ),
    ({"type": "utm", "campaign": "spring*"}, {"utm": {"campaign": "autumn"}}, False, "utm_campaign is autumn"),
    ({"type": "utm", "medium": "*"}, {"utm": {"medium": "cpc"}}, True, "utm_medium=cpc"),
    ({"type": "utm", "source": "newsletter"}, {"utm": {}}, False, "no utm_source"),
    # referrer
    (
        {"type": "referrer", "pattern": "google.com"},
        {"referrer": "https://www.google.com/search?q=rain"},
        True,
        "Referred by www.google.com",
    ),
    ({"type": "referrer", "pattern": "google.com"}, {"referrer": "google.com"}, True, "Referred by google.com"),
    ({"type": "referrer", "pattern": "google.com"}, {"referrer": "https://notgoogle.com/"}, False, "not google.com"),
    ({"type": "referrer", "pattern": "google.*"}, {"referrer": "https://google.de/"}, True, "google.de"),
    ({"type": "referrer", "pattern": "*.example.com"}, {"referrer": "https://example.com/a"}, True, "example.com"),
    (
        {"type": "referrer", "pattern": "https://news.ycombinator.com/item*"},
        {"referrer": "https://news.ycombinator.com/item?id=1"},
        True,
        "news.ycombinator.com",
    ),
    (
        {"type": "referrer", "pattern": "news.ycombinator.com/item*"},
        {"referrer": "https://news.ycombinator.com/item?id=1"},
        True,
        "news.ycombinator.com",
    ),
    ({"type": "referrer", "pattern": "google.com"}, {"referrer": ""}, False, "direct visit"),
    # query parameters
    (
        {"type": "query_param", "name": "promo", "value": "SUMMER"},
        {"query": {"promo": "summer"}},
        True,
        "Query promo=SUMMER",
    ),
    (
        {"type": "query_param", "name": "promo", "value": "summer"},
        {"query": {"promo": "winter"}},
        False,
        "another value",
    ),
    (
        {"type": "query_param", "name": "promo", "operator": "contains", "value": "sum"},
        {"query": {"promo": "big-summer"}},
        True,
        "contains",
    ),
    ({"type": "query_param", "name": "promo"}, {"query": {"promo": ""}}, True, "is present"),
    ({"type": "query_param", "name": "promo"}, {"query": {}}, False, "no promo parameter"),
    # visits
    ({"type": "visit_count", "min": 3}, {"visit_count": 3}, True, "3rd visit"),
    ({"type": "visit_count", "min": 3}, {"visit_count": 1}, False, "1st visit; needed: Visit 3 or later"),
    ({"type": "visit_count", "min": 2, "max": 5}, {"visit_count": 6}, False, "needed: Visits 2–5"),
    ({"type": "visit_count", "max": 1}, {"visit_count": 1}, True, "1st visit"),
    ({"type": "returning_visitor"}, {"returning": True}, True, "Returning visitor"),
    ({"type": "returning_visitor"}, {"returning": False}, False, "New visitor, not returning"),
    ({"type": "returning_visitor", "returning": False}, {"returning": False}, True, "New visitor"),
    # language
    ({"type": "language", "languages": ["ko"]}, {"language": ("ko-KR", "ko", "en")}, True, "Language ko-KR"),
    ({"type": "language", "languages": ["en"]}, {"language": ("ko-KR", "ko", "en")}, False, "ko-KR, not en"),
    (
        {"type": "language", "languages": ["en"], "any_preferred": True},
        {"language": ("ko-KR", "ko", "en")},
        True,
        "3rd preference",
    ),
    ({"type": "language", "languages": ["en-GB"]}, {"language": ("en",)}, False, "not en-GB"),
    ({"type": "language", "languages": ["en"]}, {"language": ("eng",)}, False, "not en"),
    ({"type": "language", "languages": ["zh-hant"]}, {"language": ("zh_Hant_TW",)}, True, "zh-Hant-TW"),
    # traits
    ({"type": "trait", "key": "plan", "value": "Gold"}, {"traits": {"plan": "gold"}}, True, "Trait plan is “Gold”"),
    (
        {"type": "trait", "key": "plan", "operator": "not_equals", "value": "free"},
        {"traits": {"plan": "gold"}},
        True,
        "is not “free”",
    ),
    (
        {"type": "trait", "key": "plan", "operator": "contains", "value": "old"},
        {"traits": {"plan": "Gold"}},
        True,
        "contains",
    ),
    (
        {"type": "trait", "key": "age", "operator": "gte", "value": "30"},
        {"traits": {"age": 29}},
        False,
        "Trait age is not ≥ 30",
    ),
    ({"type": "trait", "key": "age", "operator": "lt", "value": 30}, {"traits": {"age": "29"}}, True, "< 30"),
    ({"type": "trait", "key": "age", "operator": "gt", "value": 30}, {"traits": {"age": "old"}}, False, "not a number"),
    ({"type": "trait", "key": "beta", "value": True}, {"traits": {"beta": "yes"}}, True, "is true"),
    ({"type": "trait", "key": "beta", "value": "true"}, {"traits": {"beta": False}}, False, "is not"),
    ({"type": "trait", "key": "score", "value": 3}, {"traits": {"score": 3.0}}, True, "is 3"),
    ({"type": "trait", "key": "beta", "operator": "exists"}, {"traits": {"beta": False}}, True, "is set"),
    ({"type": "trait", "key": "beta", "operator": "exists"}, {"traits": {}}, False, "is not set"),
    # a trait the visitor never sent is unknown, so "is not" does not match it
    (
        {"type": "trait", "key": "plan", "operator": "not_equals", "value": "free"},
        {"traits": {}},
        None,
        "trait plan unknown",
    ),
]


def _case_id(case) -> str:
    spec, _, value, _ = case
    return f"{spec['type']}-{value}-{json.dumps({k: v for k, v in spec.items() if k != 'type'}, ensure_ascii=False)}"


@pytest.mark.parametrize(("spec", "facts", "value", "reason"), CASES, ids=[_case_id(c) for c in CASES])
def test_condition_evaluates_with_a_readable_reason(spec, facts, value, reason):
    out = evaluate(spec, **facts)
    assert out.value is value, out
    assert reason in out.reason, out.reason


# (spec, what the unknown reason names) evaluated on a context that lacks the fact
UNKNOWN = [
    ({"type": "weather", "conditions": ["rain"]}, "weather unknown"),
    ({"type": "emotion", "labels": ["joy"]}, "emotion unknown"),
    ({"type": "in_segment", "segment": "vip"}, "segments unknown"),
    ({"type": "device", "devices": ["mobile"]}, "device unknown"),
    ({"type": "country", "countries": ["KR"]}, "country unknown"),
    ({"type": "city", "cities": ["Seoul"]}, "city unknown"),
    ({"type": "utm", "source": "newsletter"}, "campaign parameters unknown"),
    ({"type": "referrer", "pattern": "google.com"}, "referrer unknown"),
    ({"type": "query_param", "name": "promo"}, "query parameters unknown"),
    ({"type": "visit_count", "min": 2}, "visit count unknown"),
    ({"type": "returning_visitor"}, "visit history unknown"),
    ({"type": "language", "languages": ["ko"]}, "language unknown"),
    ({"type": "trait", "key": "plan", "operator": "exists"}, "traits unknown"),
]


@pytest.mark.parametrize(("spec", "reason"), UNKNOWN, ids=[s["type"] for s, _ in UNKNOWN])
def test_condition_on_an_unknown_fact_is_unknown_and_says_what_is_unknown(spec, reason):
    condition = registry.build(spec)
    out = condition.evaluate(Context.build(now=None, unrelated="x"))
    assert out.value is None
    assert reason in out.reason
    assert out.reason.startswith(condition.describe())


def test_unknown_types_are_all_covered():
    covered = {spec["type"] for spec, _ in UNKNOWN}
    mine = {
        "weather",
        "emotion",
        "in_segment",
        "device",
        "country",
        "city",
        "utm",
        "referrer",
        "query_param",
        "visit_count",
        "returning_visitor",
        "language",
        "trait",
    }
    assert covered == mine
    assert mine <= {cls.type for cls in registry}


# (spec, the field the error names)
INVALID = [
    ({"type": "weather"}, "conditions"),
    ({"type": "weather", "conditions": ["hail"]}, "conditions"),
    ({"type": "weather", "conditions": "rain"}, None),  # a single string is one condition: valid
    ({"type": "weather", "conditions": [1]}, "conditions"),
    ({"type": "weather", "min_temperature": -100}, "min_temperature"),
    ({"type": "weather", "max_temperature": 61}, "max_temperature"),
    ({"type": "weather", "min_temperature": "warm"}, "min_temperature"),
    ({"type": "weather", "min_temperature": 20, "max_temperature": 10}, "max_temperature"),
    ({"type": "weather", "min_temperature": float("nan")}, "min_temperature"),
    ({"type": "weather", "max_temperature": True}, "max_temperature"),
    ({"type": "emotion"}, "labels"),
    ({"type": "emotion", "labels": []}, "labels"),
    ({"type": "emotion", "labels": ["happy"]}, "labels"),
    ({"type": "emotion", "labels": ["joy"], "min_confidence": 1.5}, "min_confidence"),
    ({"type": "emotion", "labels": ["joy"], "min_confidence": -0.1}, "min_confidence"),
    ({"type": "in_segment"}, "segment"),
    ({"type": "in_segment", "segment": "not a slug!"}, "segment"),
    ({"type": "in_segment", "segment": "vip", "name": 3}, "name"),
    ({"type": "device"}, "devices"),
    ({"type": "device", "devices": ["phone"]}, "devices"),
    ({"type": "device", "devices": {"mobile": True}}, "devices"),
    ({"type": "country"}, "countries"),
    ({"type": "country", "countries": ["QQ"]}, "countries"),
    ({"type": "country", "countries": ["Atlantis"]}, "countries"),
    ({"type": "city"}, "cities"),
    ({"type": "city", "cities": ["---"]}, "cities"),
    ({"type": "city", "cities": ["Seoul"], "threshold": 101}, "threshold"),
    ({"type": "city", "cities": ["Seoul"], "threshold": "high"}, "threshold"),
    ({"type": "city", "cities": ["x" * 201]}, "cities"),
    ({"type": "utm"}, "source"),
    ({"type": "utm", "medium": "e*mail"}, "medium"),
    ({"type": "utm", "campaign": 5}, "campaign"),
    ({"type": "referrer"}, "pattern"),
    ({"type": "referrer", "pattern": "google"}, "pattern"),
    ({"type": "referrer", "pattern": "goo gle.com"}, "pattern"),
    ({"type": "referrer", "pattern": "-google.com"}, "pattern"),
    ({"type": "referrer", "pattern": "google..com"}, "pattern"),
    ({"type": "referrer", "pattern": "goo%gle.*"}, "pattern"),
    ({"type": "query_param"}, "name"),
    ({"type": "query_param", "name": "promo", "operator": "starts"}, "operator"),
    ({"type": "query_param", "name": "promo", "operator": "contains"}, "value"),
    ({"type": "query_param", "name": "promo", "value": ["a"]}, "value"),
    ({"type": "visit_count"}, "min"),
    ({"type": "visit_count", "min": 0}, "min"),
    ({"type": "visit_count", "min": 1.5}, "min"),
    ({"type": "visit_count", "min": 5, "max": 2}, "max"),
    ({"type": "returning_visitor", "returning": "maybe"}, "returning"),
    ({"type": "language"}, "languages"),
    ({"type": "language", "languages": ["english!"]}, "languages"),
    ({"type": "language", "languages": ["ko"], "any_preferred": "sometimes"}, "any_preferred"),
    ({"type": "trait"}, "key"),
    ({"type": "trait", "key": "k" * 65, "value": 1}, "key"),
    ({"type": "trait", "key": "my key", "value": 1}, "key"),
    ({"type": "trait", "key": "plan", "operator": "like", "value": "x"}, "operator"),
    ({"type": "trait", "key": "plan"}, "value"),
    ({"type": "trait", "key": "age", "operator": "gt", "value": "old"}, "value"),
    ({"type": "trait", "key": "age", "operator": "gt", "value": True}, "value"),
    ({"type": "trait", "key": "plan", "value": {"a": 1}}, "value"),
    ({"type": "trait", "key": "plan", "operator": "contains", "value": True}, "value"),
]


@pytest.mark.parametrize(("spec", "field"), INVALID, ids=[json.dumps(s) for s, _ in INVALID])
def test_invalid_params_name_the_field_at_fault(spec, field):
    if field is None:
        registry.build(spec)
        return
    with pytest.raises(ConditionError) as err:
        registry.build(spec)
    assert err.value.field == field, err.value
    assert err.value.message


def test_an_unknown_country_suggests_the_closest_name():
    with pytest.raises(ConditionError, match=r"did you mean Germany \(DE\)"):
        registry.build({"type": "country", "countries": ["Germny"]})


@pytest.mark.parametrize("spec", [c[0] for c in CASES] + [s for s, _ in UNKNOWN], ids=lambda s: s["type"])
def test_spec_round_trips_through_json_and_the_registry(spec):
    condition = registry.build(spec)
    stored = json.loads(json.dumps(condition.to_spec()))
    rebuilt = registry.build(stored)
    assert rebuilt == condition
    assert hash(rebuilt) == hash(condition)
    assert rebuilt.to_spec() == stored


def test_equal_choices_in_another_order_or_case_build_equal_conditions():
    a = registry.build({"type": "device", "devices": ["Tablet", "mobile"]})
    b = registry.build({"type": "device", "devices": "mobile, tablet"})
    assert a == b
    assert a.to_params() == {"devices": ["mobile", "tablet"]}


def test_country_names_are_stored_as_codes():
    condition = registry.build({"type": "country", "countries": ["South Korea", "KR", "대한민국", "uk", "U.S.A."]})
    assert condition.to_params() == {"countries": ["KR", "GB", "US"]}
    assert condition.describe() == "Country is South Korea, United Kingdom or United States"


def test_country_table_covers_iso_3166_and_every_alias_resolves_to_its_own_country():
    assert len(COUNTRY_NAMES) == 250  # 249 ISO 3166-1 codes + XK
    assert all(len(code) == 2 and code.isupper() for code in COUNTRY_NAMES)
    for code, name in COUNTRY_NAMES.items():
        assert resolve_country(name) == code, name
        assert resolve_country(code.lower()) == code
    for code, aliases in _COUNTRY_ALIASES.items():
        for alias in aliases.split("|"):
            assert resolve_country(alias) == code, alias
    assert len({_name_key(n) for n in COUNTRY_NAMES.values()}) == len(COUNTRY_NAMES)


@pytest.mark.parametrize(
    ("spelling", "normal"),
    [
        ("Seoul", "seoul"),
        ("seoul-si", "seoul"),
        ("SEOUL SPECIAL CITY", "seoul"),
        ("Seoul Teukbyeol-si", "seoul"),
        ("서울특별시", "서울"),
        ("서울시", "서울"),
        ("대구광역시", "대구"),
        ("대구", "대구"),  # never cut down to one syllable
        ("Gangnam-gu", "gangnam"),
        ("東京都", "東京"),
        ("京都市", "京都"),
        ("京都", "京都"),
        ("Tokyo-to", "tokyo"),
        ("São Paulo", "saopaulo"),
        ("Sao-Paulo", "saopaulo"),
        ("St. Louis", "saintlouis"),
        ("City of London", "london"),
        ("si", "si"),
    ],
)
def test_city_names_normalize_to_a_comparable_form(spelling, normal):
    assert normalize_city(spelling) == normal


def test_city_threshold_trades_recall_for_precision():
    loose = registry.build({"type": "city", "cities": ["Busan"], "threshold": 70})
    strict = registry.build({"type": "city", "cities": ["Busan"]})
    assert loose.evaluate(Context.build(city="Pusan")).value is True
    assert strict.evaluate(Context.build(city="Pusan")).value is False


def test_city_does_not_match_a_city_that_merely_contains_the_name():
    york = registry.build({"type": "city", "cities": ["York"]})
    assert york.evaluate(Context.build(city="New York")).value is False


def test_weather_reads_the_city_only_for_its_reason():
    condition = registry.build({"type": "weather", "conditions": ["rain"]})
    assert condition.fact_names() == {"weather"}
    assert condition.evaluate(Context.build(weather=RAIN_SEOUL)).reason == "Rainy"


def test_query_param_present_ignores_a_leftover_value():
    condition = registry.build({"type": "query_param", "name": "promo", "operator": "present", "value": "x"})
    assert condition.to_params() == {"name": "promo", "operator": "present"}
    assert condition.evaluate(Context.build(query={"promo": "anything"})).value is True


def test_query_param_matches_any_value_of_a_repeated_parameter():
    condition = registry.build({"type": "query_param", "name": "tag", "value": "rain"})
    assert condition.evaluate(Context.build(query={"tag": ["sun", "rain"]})).value is True


def test_referrer_reason_never_repeats_the_referring_url_path():
    condition = registry.build({"type": "referrer", "pattern": "example.com"})
    out = condition.evaluate(Context.build(referrer="https://mail.example.com/inbox?email=me@example.org"))
    assert out.value is True
    assert "inbox" not in out.reason and "email" not in out.reason


def test_trait_reason_never_repeats_the_visitors_value():
    condition = registry.build({"type": "trait", "key": "email", "operator": "contains", "value": "@corp.com"})
    out = condition.evaluate(Context.build(traits={"email": "someone@else.org"}))
    assert out.value is False
    assert "someone" not in out.reason


def test_in_segment_keeps_the_segment_name_for_reasons():
    condition = registry.build({"type": "in_segment", "segment": "vip", "name": "VIP readers"})
    assert condition.to_params() == {"segment": "vip", "name": "VIP readers"}
    assert condition.describe() == "In segment “VIP readers”"


def test_date_range_built_from_datetimes_compares_dates():
    # A DateTime form field hands over datetimes; comparing one with a date raised TypeError.
    condition = registry.build({"type": "date_range", "start": datetime(2026, 1, 1, 9, 30)})
    assert condition.to_params() == {"start": "2026-01-01", "end": None}
    assert condition.evaluate(Context.build(now=datetime(2026, 5, 1), timezone="UTC")).value is True


def test_visit_count_accepts_numbers_typed_into_a_form():
    condition = registry.build({"type": "visit_count", "min": "2", "max": "4.0"})
    assert condition.to_params() == {"min": 2, "max": 4}


# --- device detection ----------------------------------------------------------------------------

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX_ANDROID_TABLET = "Mozilla/5.0 (Android 13; Tablet; rv:120.0) Gecko/120.0 Firefox/120.0"
KINDLE_SILK = (
    "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/535.19 (KHTML, like Gecko) "
    "Silk/3.4 Mobile Safari/535.19 Silk-Accelerated=true"
)
WINDOWS_PHONE = (
    "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.14977"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
MAC_SAFARI = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 "
    "Safari/605.1.15"
)
LINUX_FIREFOX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
GOOGLEBOT_SMARTPHONE = (
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
)
BINGBOT = "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36"
)
CUBOT_PHONE = (
    "Mozilla/5.0 (Linux; Android 9; CUBOT KING KONG) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "ch_mobile", "ch_platform", "expected"),
    [
        (IPHONE, None, None, "mobile"),
        (ANDROID_PHONE, "?1", '"Android"', "mobile"),
        (WINDOWS_PHONE, None, None, "mobile"),
        (
            "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en) Presto/2.5.25",
            None,
            None,
            "mobile",
        ),
        (CUBOT_PHONE, None, None, "mobile"),
        (IPAD, None, None, "tablet"),
        (ANDROID_TABLET, "?0", '"Android"', "tablet"),
        (ANDROID_TABLET, None, None, "tablet"),
        (FIREFOX_ANDROID_TABLET, None, None, "tablet"),
        (KINDLE_SILK, None, None, "tablet"),
        (WINDOWS_CHROME, "?0", '"Windows"', "desktop"),
        (MAC_SAFARI, None, None, "desktop"),
        (LINUX_FIREFOX, None, None, "desktop"),
        (
            "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 Chrome/120.0.0.0 Safari/537.36",
            None,
            None,
            "desktop",
        ),
        # DevTools device emulation and "request mobile site": the browser's own hint wins
        (WINDOWS_CHROME, "?1", '"Windows"', "mobile"),
        (GOOGLEBOT_SMARTPHONE, None, None, "bot"),
        (GOOGLEBOT_SMARTPHONE, "?1", None, "bot"),
        (BINGBOT, None, None, "bot"),
        (HEADLESS, None, None, "bot"),
        ("curl/8.4.0", None, None, "bot"),
        ("python-requests/2.31.0", None, None, "bot"),
        ("Wget/1.21.4", None, None, "bot"),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", None, None, "bot"),
        ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", None, None, "bot"),
        ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", None, None, "bot"),
        ("Some-Crawler/1.0", None, None, "bot"),
        # nothing to go on: unknown, not guessed
        (None, None, None, None),
        ("", None, None, None),
        ("   ", None, None, None),
        ("MyApp/3.2", None, None, None),
        # client hints alone
        (None, "?1", None, "mobile"),
        (None, "?0", '"Android"', "tablet"),
        (None, "?0", '"macOS"', "desktop"),
        (None, "?0", None, None),
    ],
)
def test_classify_device(user_agent, ch_mobile, ch_platform, expected):
    assert classify_device(user_agent, ch_mobile, ch_platform) == expected


def test_classify_device_reads_only_a_bounded_prefix():
    # a crawler token hidden after 512 characters of padding is not looked at
    assert classify_device(WINDOWS_CHROME + " " * 600 + "Googlebot/2.1") == "desktop"
    assert classify_device("x" * 1_000_000) is None
