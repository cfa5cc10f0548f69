"""The API as a server-side frontend (Next.js) calls it: the visitor's headers forwarded, tokens that
never null the page, visits counted once, a short cache key, typed inputs and one error shape.

The calling request plays the frontend's server (`User-Agent: node`, its own Accept-Language); the
visitor's headers travel in `forwardedHeaders`.
"""

from __future__ import annotations

import re

import pytest

from rules.profiles import profile_store
from tailor.signing import read_visitor_token

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
NODE = {"HTTP_USER_AGENT": "node", "HTTP_ACCEPT_LANGUAGE": "en-US"}
EVENING_IN_SEOUL = "2026-11-30T10:30:00Z"  # 19:30 in Seoul, 05:30 in New York

PAGE = """
query($context: ContextInput, $visitorToken: String, $forwarded: [HeaderInput!], $recordVisit: Boolean) {
  personalizedPage(urlPath: "/", inSite: true, context: $context, visitorToken: $visitorToken,
                   forwardedHeaders: $forwarded, recordVisit: $recordVisit) {
    decisions { slot variant variantName policy reasons token }
    visitorToken
    cacheKey
    warnings { field message }
    context {
      now localTime timezone device language visitCount
      consent { personalization analytics source }
      facts { name value source detail }
    }
  }
}
"""


def headers(**pairs: str) -> list[dict]:
    return [{"name": name.replace("_", "-"), "value": value} for name, value in pairs.items()]


def personalized(gql, variables: dict, **request_headers) -> dict:
    answer = gql(PAGE, variables, **{**NODE, **request_headers})
    assert "errors" not in answer, answer
    return answer["data"]["personalizedPage"]


def fact(page: dict, name: str) -> dict | None:
    return next((f for f in page["context"]["facts"] if f["name"] == name), None)


def hero(page: dict) -> dict:
    return next(d for d in page["decisions"] if d["slot"] == "hero")


# --- forwarded headers ----------------------------------------------------------------------------


def test_forwarded_headers_replace_the_frontend_servers_own(home_page, gql):
    page = personalized(
        gql,
        {"forwarded": headers(User_Agent=IPHONE, Accept_Language="ko-KR,ko;q=0.9", X_Vercel_IP_Country="KR")},
    )

    assert page["context"]["device"] == "MOBILE"
    assert page["context"]["language"] == ["ko-KR", "ko"]
    assert fact(page, "device")["source"] == "HEADER"
    assert fact(page, "country") == {
        "name": "country",
        "value": "KR",
        "source": "HEADER",
        "detail": "X-Vercel-IP-Country",
    }


def test_without_forwarded_headers_the_calling_request_is_the_visitor(home_page, gql):
    page = personalized(gql, {})

    assert page["context"]["device"] == "BOT"  # an HTTP library's own User-Agent
    assert page["context"]["language"] == ["en-US"]


@pytest.mark.parametrize(
    "header", ["X-Vercel-IP-Timezone", "CloudFront-Viewer-Time-Zone", "CF-Timezone", "x-vercel-ip-timezone"]
)
def test_a_cdn_timezone_header_places_the_visitors_clock(home_page, gql, header):
    seoul = personalized(
        gql, {"context": {"now": EVENING_IN_SEOUL}, "forwarded": [{"name": header, "value": "Asia/Seoul"}]}
    )
    new_york = personalized(
        gql, {"context": {"now": EVENING_IN_SEOUL}, "forwarded": [{"name": header, "value": "America/New_York"}]}
    )

    assert fact(seoul, "timezone")["source"] == "HEADER"
    assert seoul["context"]["localTime"] == "2026-11-30T19:30:00+09:00"
    assert hero(seoul)["variantName"] == "Evening"
    assert new_york["context"]["localTime"] == "2026-11-30T05:30:00-05:00"
    assert hero(new_york)["variantName"] != "Evening"


def test_a_timezone_header_that_is_not_an_iana_name_is_ignored(home_page, gql):
    page = personalized(gql, {"forwarded": headers(X_Vercel_IP_Timezone="Mars/Olympus_Mons")})

    assert page["context"]["timezone"] is None


def test_the_context_input_wins_over_forwarded_headers(home_page, gql):
    page = personalized(
        gql, {"context": {"timezone": "Europe/Paris"}, "forwarded": headers(X_Vercel_IP_Timezone="Asia/Seoul")}
    )

    assert page["context"]["timezone"] == "Europe/Paris"


def test_headers_outside_the_documented_list_are_ignored(home_page, gql):
    page = personalized(
        gql, {"forwarded": headers(X_Forwarded_For="203.0.113.7", Cookie="session=secret", User_Agent=DESKTOP)}
    )

    assert page["context"]["device"] == "DESKTOP"
    assert not any("203.0.113.7" in str(f["value"]) or "secret" in str(f["value"]) for f in page["context"]["facts"])


def test_a_forwarded_referer_is_the_visitors_referrer(home_page, gql):
    page = personalized(gql, {"forwarded": headers(Referer="https://news.example.org/story")})

    assert fact(page, "referrer")["value"] == "https://news.example.org/story"


@pytest.mark.parametrize(
    ("forwarded", "field"),
    [
        ([{"name": f"X-Extra-{i}", "value": "1"} for i in range(41)], "forwardedHeaders"),
        ([{"name": "User-Agent", "value": DESKTOP}, {"name": "Referer", "value": "x" * 1025}], "forwardedHeaders.1"),
    ],
)
def test_too_many_or_too_long_forwarded_headers_are_an_error_naming_the_field(home_page, gql, forwarded, field):
    answer = gql(PAGE, {"forwarded": forwarded}, **NODE)

    assert answer["data"]["personalizedPage"] is None
    assert answer["errors"][0]["extensions"]["field"] == field
    assert answer["errors"][0]["message"].startswith(f"{field}: ")


@pytest.mark.parametrize(("signal", "source"), [("Sec-GPC", "SEC_GPC"), ("DNT", "DNT")])
def test_a_forwarded_opt_out_wins_over_the_consent_in_the_same_call(home_page, gql, signal, source):
    page = personalized(
        gql,
        {
            "context": {"consent": {"personalization": True, "analytics": True}},
            "forwarded": [{"name": "User-Agent", "value": DESKTOP}, {"name": signal, "value": "1"}],
        },
    )
    from rules.models import VisitorProfile

    assert page["context"]["consent"] == {"personalization": False, "analytics": False, "source": source}
    assert page["context"]["visitCount"] is None
    assert page["visitorToken"] == ""  # no token issued
    assert not VisitorProfile.objects.exists()  # nothing kept


def test_events_sent_by_the_frontends_server_are_judged_by_the_forwarded_user_agent(home_page, gql):
    event = """mutation($token: String!, $forwarded: [HeaderInput!]) {
      recordEvent(token: $token, kind: IMPRESSION, forwardedHeaders: $forwarded) { ok counted reason errors { field message } }
    }"""
    browser = personalized(gql, {"forwarded": headers(User_Agent=DESKTOP)})
    crawler = personalized(gql, {"forwarded": headers(User_Agent="Googlebot/2.1 (+http://www.google.com/bot.html)")})
    browser_token, crawler_token = hero(browser)["token"], hero(crawler)["token"]

    as_node = gql(event, {"token": browser_token}, **NODE)["data"]["recordEvent"]
    as_visitor = gql(event, {"token": browser_token, "forwarded": headers(User_Agent=DESKTOP)}, **NODE)
    as_crawler = gql(event, {"token": crawler_token, "forwarded": headers(User_Agent=DESKTOP)}, **NODE)

    assert as_node == {"ok": True, "counted": False, "reason": "BOT", "errors": []}
    assert as_visitor["data"]["recordEvent"] == {"ok": True, "counted": True, "reason": None, "errors": []}
    assert as_crawler["data"]["recordEvent"]["reason"] == "BOT"  # the decision itself was a bot's


def test_set_consent_under_a_forwarded_opt_out_stores_nothing(home_page, gql):
    consent = """mutation($forwarded: [HeaderInput!]) {
      setConsent(personalization: true, analytics: true, forwardedHeaders: $forwarded) {
        ok visitorToken consent { personalization analytics source } errors { field message }
      }
    }"""
    answer = gql(consent, {"forwarded": headers(Sec_GPC="1")}, **NODE)["data"]["setConsent"]

    assert answer["ok"] is True
    from rules.models import VisitorProfile

    assert answer["consent"] == {"personalization": False, "analytics": False, "source": "SEC_GPC"}
    assert answer["visitorToken"] is None  # no token issued
    assert not VisitorProfile.objects.exists()


# --- tokens and visits ----------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["garbage", "eyJ2IjoiMSJ9:1tAbCd:forged-signature"])
def test_an_invalid_visitor_token_gives_the_page_for_a_fresh_visitor_and_says_why(home_page, gql, token):
    page = personalized(gql, {"visitorToken": token, "forwarded": headers(User_Agent=DESKTOP)})

    assert len(page["decisions"]) == 3
    assert page["warnings"][0]["field"] == "visitorToken"
    assert page["warnings"][0]["message"]
    assert page["visitorToken"] != token
    assert read_visitor_token(page["visitorToken"])  # a valid, fresh one


def test_an_expired_visitor_token_gives_the_page_for_a_fresh_visitor(home_page, gql, settings):
    first = personalized(gql, {"forwarded": headers(User_Agent=DESKTOP)})
    settings.TAILOR = {**settings.TAILOR, "VISITOR_TOKEN_MAX_AGE": -1}

    page = personalized(gql, {"visitorToken": first["visitorToken"], "forwarded": headers(User_Agent=DESKTOP)})

    assert [w["field"] for w in page["warnings"]] == ["visitorToken"]
    assert page["visitorToken"] != first["visitorToken"]


def test_a_call_with_record_visit_false_does_not_count_a_page_view(home_page, gql):
    consenting = {"consent": {"personalization": True, "analytics": True}}
    first = personalized(gql, {"context": consenting, "forwarded": headers(User_Agent=DESKTOP)})
    token = first["visitorToken"]
    visitor = read_visitor_token(token)
    variables = {"context": consenting, "visitorToken": token, "forwarded": headers(User_Agent=DESKTOP)}

    prefetch = personalized(gql, {**variables, "recordVisit": False})
    refresh = personalized(gql, {**variables, "recordVisit": False})
    views_after_prefetch_and_refresh = profile_store().get(visitor).page_views
    personalized(gql, variables)

    assert first["context"]["visitCount"] == prefetch["context"]["visitCount"] == refresh["context"]["visitCount"] == 1
    assert views_after_prefetch_and_refresh == 1
    assert profile_store().get(visitor).page_views == 2


IDENTIFY = """mutation($token: String) {
  identifyVisitor(visitorToken: $token) { visitorToken fresh warnings { field message } }
}"""


def test_identify_visitor_mints_a_token_and_keeps_a_fresh_one(home_page, gql):
    minted = gql(IDENTIFY, {}, **NODE)["data"]["identifyVisitor"]
    kept = gql(IDENTIFY, {"token": minted["visitorToken"]}, **NODE)["data"]["identifyVisitor"]
    replaced = gql(IDENTIFY, {"token": "not-a-token"}, **NODE)["data"]["identifyVisitor"]

    assert minted["fresh"] is True and minted["warnings"] == []
    assert kept == {"visitorToken": minted["visitorToken"], "fresh": False, "warnings": []}
    assert replaced["fresh"] is True and replaced["warnings"][0]["field"] == "visitorToken"
    visitor = read_visitor_token(minted["visitorToken"])
    assert profile_store().get(visitor) is None  # identifying records nothing


# --- the cache key --------------------------------------------------------------------------------


def test_the_cache_key_names_the_decision_bucket_and_nothing_about_the_visitor(home_page, gql):
    at = {"now": EVENING_IN_SEOUL, "weather": {"condition": "CLEAR"}}
    seoul = {"context": {**at, "timezone": "Asia/Seoul"}, "forwarded": headers(User_Agent=DESKTOP)}
    a, b = personalized(gql, seoul), personalized(gql, seoul)
    rainy = personalized(gql, {**seoul, "context": {**seoul["context"], "weather": {"condition": "RAIN"}}})
    chosen = {d["slot"]: d["variant"] for d in a["decisions"]}

    assert a["visitorToken"] != b["visitorToken"]
    if chosen == {d["slot"]: d["variant"] for d in b["decisions"]}:  # the CTA's bandit may differ
        assert a["cacheKey"] == b["cacheKey"]
    assert hero(rainy)["variant"] != hero(a)["variant"] and rainy["cacheKey"] != a["cacheKey"]
    assert re.fullmatch(r"tailor:\d+:\d+:[a-z2-7]{16}", a["cacheKey"]), a["cacheKey"]
    visitor = read_visitor_token(a["visitorToken"])
    assert visitor not in a["cacheKey"] and "2026" not in a["cacheKey"]


# --- typed input and output -----------------------------------------------------------------------


def test_traits_and_query_are_typed_inputs(home_page, gql):
    page = personalized(
        gql,
        {
            "context": {
                "traits": [
                    {"key": "plan", "text": "pro"},
                    {"key": "seats", "number": 12},
                    {"key": "beta", "flag": True},
                ],
                "query": [{"name": "utm_source", "value": "Newsletter"}, {"name": "page", "value": "2"}],
            }
        },
    )

    assert fact(page, "traits")["value"] == {"plan": "pro", "seats": 12, "beta": True}
    assert fact(page, "query")["value"] == {"utm_source": "Newsletter", "page": "2"}
    assert fact(page, "utm")["value"] == {"source": "newsletter"}


@pytest.mark.parametrize(
    ("traits", "field"),
    [
        ([{"key": "plan"}], "context.traits.plan"),
        ([{"key": "plan", "text": "pro", "flag": True}], "context.traits.plan"),
        ([{"key": "plan", "text": "a"}, {"key": "plan", "text": "b"}], "context.traits.plan"),
    ],
)
def test_a_trait_needs_exactly_one_value(home_page, gql, traits, field):
    answer = gql(PAGE, {"context": {"traits": traits}}, **NODE)

    assert answer["errors"][0]["extensions"]["field"] == field


def test_fact_values_are_json_values_not_json_in_a_string(home_page, gql):
    page = personalized(gql, {"context": {"now": "2026-11-30T10:30:00Z"}, "forwarded": headers(User_Agent=IPHONE)})

    assert fact(page, "device")["value"] == "mobile"
    assert fact(page, "now")["value"] == "2026-11-30T10:30:00+00:00"


@pytest.mark.parametrize(
    ("now", "timezone", "echoed"),
    [
        ("2026-11-30T19:30:00", "Asia/Seoul", "2026-11-30T19:30:00+09:00"),
        ("2026-11-30T19:30:00", None, "2026-11-30T19:30:00+00:00"),
        ("2026-11-30T10:30:00Z", "Asia/Seoul", "2026-11-30T10:30:00+00:00"),
    ],
)
def test_now_is_echoed_with_its_offset(home_page, gql, now, timezone, echoed):
    page = personalized(gql, {"context": {"now": now, "timezone": timezone}})

    assert page["context"]["now"] == echoed


@pytest.mark.parametrize("now", ["yesterday", "2026-13-45T99:00:00Z"])
def test_a_malformed_now_in_variables_is_an_error_naming_the_field(home_page, gql, now):
    answer = gql(PAGE, {"context": {"now": now}}, **NODE)

    assert answer["data"]["personalizedPage"] is None
    assert answer["errors"][0]["extensions"] == {"field": "context.now"}
    assert answer["errors"][0]["message"].startswith("context.now: ")


def test_a_now_that_is_not_text_is_an_error_naming_the_field(home_page, gql):
    answer = gql('{ personalizedPage(urlPath: "/", context: {now: 20261130}) { cacheKey } }', **NODE)

    assert answer["errors"][0]["extensions"] == {"field": "context.now"}


# --- one error shape --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "variables", "field"),
    [
        (
            '{ personalizedPage(urlPath: "/", context: {weather: {condition: HAIL}}) { cacheKey } }',
            {},
            "context.weather.condition",
        ),
        (
            '{ personalizedPage(urlPath: "/", context: {traits: [{key: "a", text: 1}]}) { cacheKey } }',
            {},
            "context.traits.0.text",
        ),
        ('{ personalizedPage(urlPath: "/", context: {timezone: 5}) { cacheKey } }', {}, "context.timezone"),
        ("{ personalizedPage(context: {}) { cacheKey } }", {}, "urlPath"),
        ('mutation { recordEvent(token: "x", kind: FOO) { ok } }', {}, "kind"),
        ('mutation($k: EventKind!) { recordEvent(token: "x", kind: $k) { ok } }', {"k": "FOO"}, "kind"),
        ('mutation($k: EventKind!) { recordEvent(token: "x", kind: $k) { ok } }', {}, "kind"),
        (
            'query($c: ContextInput) { personalizedPage(urlPath: "/", context: $c) { cacheKey } }',
            {"c": {"weather": {"temperatureC": "warm"}}},
            "context.weather.temperatureC",
        ),
    ],
)
def test_every_input_error_names_its_field(home_page, gql, document, variables, field):
    answer = gql(document, variables, **NODE)

    error = answer["errors"][0]
    assert error["extensions"]["field"] == field, error
    assert error["message"].startswith(f"{field}: "), error
