"""Every condition type, through `personalizedPage`: it matches, it does not, and an unknown fact
never matches (the reason says what is unknown)."""

from __future__ import annotations

import pytest

from sample_site.home.demo import condition, heading, personalized, variant

QUERY = """
query ($path: String!, $ctx: ContextInput, $visitor: String) {
  personalizedPage(urlPath: $path, context: $ctx, visitorToken: $visitor) {
    decisions { slot variantName policy reasons }
    visitorToken
    context { segments facts { name source } }
  }
}
"""
CONSENT = {"personalization": True, "analytics": False}
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
EVENING_SEOUL = {"timezone": "Asia/Seoul", "now": "2026-11-30T20:00:00+09:00"}

# type, params, matching context, non-matching context, context where the fact is unknown, what is unknown
CASES = [
    (
        "date_range",
        {"start": "2026-12-01", "end": "2026-12-31"},
        {"timezone": "Asia/Seoul", "now": "2026-12-15T10:00:00Z"},
        {"timezone": "Asia/Seoul", "now": "2026-11-15T10:00:00Z"},
        {"now": "2026-12-15T10:00:00Z"},
        "timezone",
    ),
    (
        "weather",
        {"conditions": ["rain", "drizzle"], "min_temperature": None, "max_temperature": 20},
        {"weather": {"condition": "RAIN", "temperatureC": 12}},
        {"weather": {"condition": "CLEAR", "temperatureC": 12}},
        {},
        "weather",
    ),
    (
        "emotion",
        {"labels": ["sadness"], "min_confidence": 0.5},
        {"emotion": "SADNESS"},
        {"emotion": "JOY"},
        {},
        "emotion",
    ),
    ("device", {"devices": ["mobile"]}, {"userAgent": IPHONE}, {"userAgent": DESKTOP}, {}, "device"),
    ("country", {"countries": "KR, Japan"}, {"country": "South Korea"}, {"country": "DE"}, {}, "country"),
    ("city", {"cities": "Seoul, 서울", "threshold": 85}, {"city": "seoul-si"}, {"city": "Busan"}, {}, "city"),
    (
        "utm",
        {"source": "newsletter", "medium": "", "campaign": ""},
        {"query": [{"name": "utm_source", "value": "Newsletter"}, {"name": "utm_medium", "value": "email"}]},
        {"utm": {"source": "google"}},
        {},
        "campaign",
    ),
    (
        "referrer",
        {"pattern": "google.com"},
        {"referrer": "https://www.google.com/search?q=tailor"},
        {"referrer": "https://bing.com/"},
        {},
        "referrer",
    ),
    (
        "query_param",
        {"name": "ref", "operator": "equals", "value": "partner"},
        {"query": [{"name": "ref", "value": "partner"}]},
        {"query": [{"name": "ref", "value": "other"}]},
        {},
        "query",
    ),
    (
        "language",
        {"languages": "ko", "any_preferred": False},
        {"language": "ko-KR,ko;q=0.9,en;q=0.8"},
        {"language": "en-US,ko;q=0.5"},
        {},
        "language",
    ),
    (
        "trait",
        {"key": "plan", "operator": "equals", "value": "pro"},
        {"traits": [{"key": "plan", "text": "pro"}]},
        {"traits": [{"key": "plan", "text": "free"}]},
        {"traits": []},
        "plan",
    ),
    (
        "in_segment",
        {"segment": "mobile-evening-readers"},
        {**EVENING_SEOUL, "device": "MOBILE", "consent": CONSENT},
        {**EVENING_SEOUL, "device": "DESKTOP", "consent": CONSENT},
        {**EVENING_SEOUL, "device": "MOBILE"},
        "segments",
    ),
]


@pytest.fixture
def page_with(make_page):
    def build(kind: str, params: dict) -> str:
        slug = kind.replace("_", "-")
        make_page(
            slug,
            personalized(
                "hero",
                default=[heading("Default", slug)],
                variants=[variant(slug, "Targeted", [heading("Targeted", slug, "v")], [condition(kind, params, slug)])],
            ),
        )
        return f"/{slug}/"

    return build


def decide(gql, path: str, ctx: dict, **variables) -> dict:
    result = gql(QUERY, {"path": path, "ctx": ctx, **variables})
    assert "errors" not in result, result["errors"]
    return result["data"]["personalizedPage"]


@pytest.mark.parametrize(("kind", "params", "match", "miss", "unknown", "what"), CASES, ids=[c[0] for c in CASES])
def test_condition_matches_misses_and_never_matches_an_unknown_fact(
    page_with, gql, kind, params, match, miss, unknown, what
):
    path = page_with(kind, params)

    matched = decide(gql, path, match)["decisions"][0]
    missed = decide(gql, path, miss)["decisions"][0]
    not_known = decide(gql, path, unknown)["decisions"][0]

    assert (matched["variantName"], matched["policy"]) == ("Targeted", "RULES"), matched
    assert (missed["variantName"], missed["policy"]) == ("Default", "DEFAULT"), missed
    assert (not_known["variantName"], not_known["policy"]) == ("Default", "DEFAULT"), not_known
    assert "unknown" in not_known["reasons"][1] and what in not_known["reasons"][1], not_known["reasons"]


def test_negated_condition_inverts_a_known_fact_but_not_an_unknown_one(make_page, gql):
    make_page(
        "not-mobile",
        personalized(
            "hero",
            default=[heading("Default", "nm")],
            variants=[
                variant(
                    "nm",
                    "Big screens",
                    [heading("Wide", "nm", "v")],
                    [{"type": "device", "value": {"negate": True, "devices": ["mobile"]}, "id": "nm-c"}],
                )
            ],
        ),
    )

    assert decide(gql, "/not-mobile/", {"userAgent": DESKTOP})["decisions"][0]["variantName"] == "Big screens"
    assert decide(gql, "/not-mobile/", {"userAgent": IPHONE})["decisions"][0]["variantName"] == "Default"
    assert decide(gql, "/not-mobile/", {})["decisions"][0]["variantName"] == "Default"


def test_any_of_the_conditions_can_match_when_the_variant_says_any(make_page, gql):
    conditions = [
        condition("country", {"countries": "KR"}, "any", "country"),
        condition("language", {"languages": "ko", "any_preferred": True}, "any", "language"),
    ]
    make_page(
        "any",
        personalized(
            "hero",
            default=[heading("Default", "any")],
            variants=[variant("any", "Korean", [heading("안녕하세요", "any", "v")], conditions, match="any")],
        ),
    )

    assert decide(gql, "/any/", {"country": "KR"})["decisions"][0]["variantName"] == "Korean"
    assert decide(gql, "/any/", {"language": "en,ko;q=0.3"})["decisions"][0]["variantName"] == "Korean"
    assert decide(gql, "/any/", {"country": "US", "language": "en"})["decisions"][0]["variantName"] == "Default"


@pytest.mark.parametrize(
    ("header", "value", "kind", "params"),
    [
        ("HTTP_USER_AGENT", IPHONE, "device", {"devices": ["mobile"]}),
        ("HTTP_SEC_CH_UA_MOBILE", "?1", "device", {"devices": ["mobile"]}),
        ("HTTP_CF_IPCOUNTRY", "KR", "country", {"countries": "KR"}),
        ("HTTP_CLOUDFRONT_VIEWER_COUNTRY", "KR", "country", {"countries": "KR"}),
        ("HTTP_X_VERCEL_IP_COUNTRY", "KR", "country", {"countries": "KR"}),
        ("HTTP_X_VERCEL_IP_CITY", "Seoul", "city", {"cities": "Seoul", "threshold": 85}),
        ("HTTP_ACCEPT_LANGUAGE", "ko-KR,ko;q=0.9", "language", {"languages": "ko", "any_preferred": False}),
    ],
)
def test_headers_feed_the_context_when_the_input_is_silent(page_with, gql, header, value, kind, params):
    path = page_with(kind, params)

    result = gql(QUERY, {"path": path, "ctx": {}}, **{header: value})["data"]["personalizedPage"]

    assert result["decisions"][0]["variantName"] == "Targeted"
    fact = kind if kind != "device" else "device"
    assert {"name": fact, "source": "HEADER"} in result["context"]["facts"]


def test_explicit_input_wins_over_headers(page_with, gql):
    path = page_with("country", {"countries": "KR"})

    result = gql(QUERY, {"path": path, "ctx": {"country": "JP"}}, HTTP_CF_IPCOUNTRY="KR")["data"]["personalizedPage"]

    assert result["decisions"][0]["variantName"] == "Default"
    assert {"name": "country", "source": "INPUT"} in result["context"]["facts"]


def test_visit_count_and_returning_visitor_come_from_the_consented_profile(make_page, gql, state_backend):
    from datetime import UTC, datetime

    from freezegun import freeze_time

    make_page(
        "loyal",
        personalized(
            "hero",
            default=[heading("Welcome", "loyal")],
            variants=[
                variant(
                    "loyal",
                    "Third visit",
                    [heading("Third!", "loyal", "3")],
                    [condition("visit_count", {"min": 3, "max": None}, "loyal", "3")],
                ),
                variant(
                    "loyal",
                    "Welcome back",
                    [heading("Again!", "loyal", "r")],
                    [condition("returning_visitor", {"returning": True}, "loyal", "r")],
                ),
            ],
        ),
    )
    ctx = {"consent": CONSENT}
    with freeze_time(datetime(2026, 11, 30, 9, 0, tzinfo=UTC)) as clock:
        first = decide(gql, "/loyal/", ctx)
        token = first["visitorToken"]
        same_visit = decide(gql, "/loyal/", ctx, visitor=token)
        clock.tick(3600)
        second = decide(gql, "/loyal/", ctx, visitor=token)
        clock.tick(3600)
        third = decide(gql, "/loyal/", ctx, visitor=token)
        clock.tick(3600)
        no_consent = decide(gql, "/loyal/", {"consent": {"personalization": False, "analytics": False}}, visitor=token)

    assert first["decisions"][0]["variantName"] == "Default"
    assert same_visit["decisions"][0]["variantName"] == "Default"  # same visit: 30 minutes have not passed
    assert second["decisions"][0]["variantName"] == "Welcome back"
    assert third["decisions"][0]["variantName"] == "Third visit"
    assert no_consent["decisions"][0]["variantName"] == "Default"
    assert "visit_count" not in {f["name"] for f in no_consent["context"]["facts"]}


def test_gpc_header_overrides_consent_given_in_the_input(page_with, gql):
    path = page_with("in_segment", {"segment": "mobile-evening-readers"})
    ctx = {**EVENING_SEOUL, "device": "MOBILE", "consent": CONSENT}

    with_gpc = gql(QUERY, {"path": path, "ctx": ctx}, HTTP_SEC_GPC="1")["data"]["personalizedPage"]

    assert with_gpc["decisions"][0]["variantName"] == "Default"
    assert with_gpc["context"]["segments"] is None


@pytest.mark.parametrize(
    ("ctx", "field"),
    [
        ({"latitude": 200, "longitude": 10}, "context.latitude"),
        ({"latitude": 10}, "context.longitude"),
        ({"timezone": "Mars/Base"}, "context.timezone"),
        ({"text": "x" * 2001}, "context.text"),
        ({"traits": [{"key": f"t{i}", "number": i} for i in range(51)]}, "context.traits"),
        ({"traits": [{"key": "plan", "text": "pro", "number": 1}]}, "context.traits.plan"),
        ({"traits": [1, 2]}, "context.traits.0"),
        ({"country": "Atlantis"}, "context.country"),
        ({"weather": {"temperatureC": 99}}, "context.weather.temperatureC"),
        ({"query": '"not an object"'}, "context.query"),
        ({"language": ";;;"}, "context.language"),
        ({"city": "x" * 101}, "context.city"),
    ],
)
def test_out_of_range_context_is_a_graphql_error_naming_the_field(home_page, gql, ctx, field):
    result = gql(QUERY, {"path": "/", "ctx": ctx})

    error = result["errors"][0]  # a list of wrong items: one error per item
    assert error["extensions"]["field"] == field, error
    assert error["message"].startswith(field + ":")
    assert (result.get("data") or {}).get("personalizedPage") is None  # no data at all when a variable fails


def test_a_text_of_exactly_the_limit_is_accepted(home_page, gql):
    result = gql(QUERY, {"path": "/", "ctx": {"text": "ok " * 666 + "ok"}})

    assert "errors" not in result
