"""The walking skeleton through its public interface: GraphQL requests against the demo site."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rules.engine import Context
from sample_site.home.demo import condition, heading, personalized, variant
from variants.services import personalize_page

OPERATION = (Path(__file__).resolve().parent.parent / "graphql/operations/personalized_page.graphql").read_text()

DECISIONS = """
query ($urlPath: String!, $context: ContextInput, $visitorToken: String) {
  personalizedPage(urlPath: $urlPath, inSite: true, context: $context, visitorToken: $visitorToken) {
    decisions { slot slotId variant variantName policy probability reasons token }
    visitorToken
    cacheKey
  }
}
"""


def hero(data: dict) -> dict:
    page = data["data"]["personalizedPage"]
    return next(d for d in page["decisions"] if d["slot"] == "hero")


def run_operation(gql, now: str, timezone: str = "Asia/Seoul", **extra) -> dict:
    result = gql(OPERATION, {"urlPath": "/", "inSite": True, "context": {"timezone": timezone, "now": now}, **extra})
    assert "errors" not in result, result
    return result["data"]["personalizedPage"]


def personalized_block(page: dict, slot: str = "hero") -> dict:
    return next(b for b in page["page"]["body"] if b["blockType"] == "PersonalizedBlock" and b["slot"] == slot)


def test_morning_in_seoul_gets_the_morning_variant_with_its_content(home_page, gql):
    page = run_operation(gql, "2026-11-30T08:00:00+09:00")

    decision = hero({"data": {"personalizedPage": page}})
    assert decision["variantName"] == "Morning"
    assert decision["policy"] == "RULES"
    assert decision["probability"] == 1.0
    assert decision["reasons"] == ["Morning 06:00–11:00 (Asia/Seoul)"]
    block = personalized_block(page)
    assert block["slot"] == "hero"
    assert block["variantName"] == "Morning"
    assert block["content"][0]["value"] == "Good morning! Start your day with us"
    assert block["content"][0]["blockType"] == "CharBlock"


def test_same_utc_instant_gives_seoul_morning_and_new_york_evening(home_page, gql):
    instant = "2026-11-30T23:30:00Z"  # 08:30 in Seoul, 18:30 in New York

    seoul = hero(gql(DECISIONS, {"urlPath": "/", "context": {"timezone": "Asia/Seoul", "now": instant}}))
    new_york = hero(gql(DECISIONS, {"urlPath": "/", "context": {"timezone": "America/New_York", "now": instant}}))

    assert seoul["variantName"] == "Morning"
    assert new_york["variantName"] == "Evening"
    assert new_york["reasons"] == ["Evening 18:00–23:00 (America/New_York)"]
    assert seoul["variant"] != new_york["variant"]


def test_outside_every_window_the_default_wins_with_policy_default(home_page, gql):
    page = run_operation(gql, "2026-11-30T14:00:00+09:00")

    decision = hero({"data": {"personalizedPage": page}})
    assert decision["policy"] == "DEFAULT"
    assert decision["variant"] == "default"
    assert decision["variantName"] == "Default"
    assert decision["reasons"][0] == "No variant matched; showing the default"
    assert "Morning: Morning 06:00–11:00 (Asia/Seoul): it is 14:00 there" in decision["reasons"]
    assert personalized_block(page)["content"][0]["value"] == "Content that fits the moment"


@pytest.mark.parametrize(
    ("local_time", "expected"),
    [
        ("23:30", "Late night"),
        ("00:15", "Late night"),
        ("01:59", "Late night"),
        ("02:00", "Default"),
        ("03:00", "Default"),
        ("21:59", "Default"),
    ],
)
def test_overnight_window_22_to_02_spans_midnight_in_visitor_timezone(make_page, gql, local_time, expected):
    make_page(
        "night",
        personalized(
            "hero",
            default=[heading("Hello", "night", "default")],
            variants=[
                variant(
                    "night",
                    "Late night",
                    [heading("Still up?", "night", "late")],
                    [condition("time_of_day", {"start": "22:00:00", "end": "02:00:00"}, "night", "late")],
                )
            ],
        ),
    )
    # The same wall-clock time given as an instant in UTC for a visitor in Tokyo (UTC+9).
    hour, minute = map(int, local_time.split(":"))
    utc_hour = (hour - 9) % 24
    day = 30 if hour >= 9 else 29
    now = f"2026-11-{day:02d}T{utc_hour:02d}:{minute:02d}:00Z"

    result = gql(DECISIONS, {"urlPath": "/night/", "context": {"timezone": "Asia/Tokyo", "now": now}})

    assert hero(result)["variantName"] == expected


def test_day_of_week_condition_uses_the_visitors_date(make_page, gql):
    make_page(
        "weekend",
        personalized(
            "hero",
            default=[heading("Weekday", "weekend", "default")],
            variants=[
                variant(
                    "weekend",
                    "Weekend",
                    [heading("Weekend!", "weekend", "v")],
                    [condition("day_of_week", {"days": ["5", "6"]}, "weekend", "v")],
                )
            ],
        ),
    )
    # Friday 20:00 UTC is already Saturday 05:00 in Seoul, still Friday in New York.
    instant = "2026-11-27T20:00:00Z"
    seoul = hero(gql(DECISIONS, {"urlPath": "/weekend/", "context": {"timezone": "Asia/Seoul", "now": instant}}))
    ny = hero(gql(DECISIONS, {"urlPath": "/weekend/", "context": {"timezone": "America/New_York", "now": instant}}))

    assert seoul["variantName"] == "Weekend"
    assert seoul["reasons"] == ["Weekends (Asia/Seoul): it is Saturday"]
    assert ny["variantName"] == "Default"


def test_without_a_timezone_time_rules_do_not_match_and_say_why(home_page, gql):
    result = gql(DECISIONS, {"urlPath": "/", "context": {"now": "2026-11-30T08:00:00Z"}})

    decision = hero(result)
    assert decision["policy"] == "DEFAULT"
    assert "Morning: Morning 06:00–11:00: visitor timezone unknown" in decision["reasons"]


def test_unknown_timezone_is_a_graphql_error_naming_the_field(home_page, gql):
    result = gql(DECISIONS, {"urlPath": "/", "context": {"timezone": "Mars/Base"}})

    (error,) = result["errors"]
    assert error["message"].startswith("context.timezone: unknown timezone 'Mars/Base'")
    assert error["extensions"]["field"] == "context.timezone"
    assert result["data"]["personalizedPage"] is None


@pytest.mark.parametrize("now", ["yesterday", "2026-13-45T99:00:00Z", "", "12"])
def test_malformed_now_is_a_graphql_error_not_a_server_error(home_page, gql, now):
    result = gql(DECISIONS, {"urlPath": "/", "context": {"timezone": "Asia/Seoul", "now": now}})

    (error,) = result["errors"]
    assert error["message"].startswith("context.now: expected an ISO 8601 date-time")
    assert error["extensions"] == {"field": "context.now"}


def test_now_far_outside_the_supported_years_is_refused(home_page, gql):
    result = gql(DECISIONS, {"urlPath": "/", "context": {"timezone": "Asia/Seoul", "now": "1066-10-14T09:00:00Z"}})

    assert result["errors"][0]["extensions"]["field"] == "context.now"


def test_missing_page_is_null(home_page, gql):
    result = gql(DECISIONS, {"urlPath": "/no-such-page/"})

    assert result == {"data": {"personalizedPage": None}}


def test_decision_token_is_signed_and_explains_the_decision(home_page, gql):
    decision = hero(
        gql(DECISIONS, {"urlPath": "/", "context": {"timezone": "Asia/Seoul", "now": "2026-11-30T20:00:00+09:00"}})
    )
    explain = (
        "query ($t: String!) { explainDecision(token: $t) { slot variant variantName policy probability reasons } }"
    )

    explained = gql(explain, {"t": decision["token"]})["data"]["explainDecision"]
    tampered = decision["token"][:-3] + ("AAA" if not decision["token"].endswith("AAA") else "BBB")
    forged = gql(explain, {"t": tampered})["data"]["explainDecision"]

    assert explained == {k: decision[k] for k in ("slot", "variant", "variantName", "policy", "probability", "reasons")}
    assert forged is None


def test_visitor_token_round_trips_and_a_forged_one_is_replaced(home_page, gql):
    first = gql(DECISIONS, {"urlPath": "/"})["data"]["personalizedPage"]
    again = gql(DECISIONS, {"urlPath": "/", "visitorToken": first["visitorToken"]})["data"]["personalizedPage"]
    forged = gql(DECISIONS, {"urlPath": "/", "visitorToken": "not-a-token"})["data"]["personalizedPage"]

    assert again["visitorToken"] == first["visitorToken"]
    assert forged["visitorToken"] not in ("not-a-token", first["visitorToken"])  # a fresh visitor


def test_cache_key_names_page_revision_and_chosen_variants(home_page, gql):
    # one visitor throughout: the demo's `cta` bandit slot picks by the visitor's stable hash
    visitor = gql(DECISIONS, {"urlPath": "/"})["data"]["personalizedPage"]["visitorToken"]

    def at(now: str) -> dict:
        context = {"timezone": "Asia/Seoul", "now": now}
        return gql(DECISIONS, {"urlPath": "/", "context": context, "visitorToken": visitor})

    morning = at("2026-11-30T08:00:00+09:00")
    later = at("2026-11-30T09:30:00+09:00")
    evening = at("2026-11-30T20:00:00+09:00")

    key = morning["data"]["personalizedPage"]["cacheKey"]
    assert key == later["data"]["personalizedPage"]["cacheKey"]  # same variants, another minute
    assert key != evening["data"]["personalizedPage"]["cacheKey"]  # the hero changed
    assert key.startswith(f"tailor:{home_page.pk}:{home_page.live_revision_id}:")
    assert len(key) < 64


def test_resolved_context_echoes_each_fact_with_its_source(home_page, gql):
    page = run_operation(gql, "2026-11-30T08:00:00+09:00")

    facts = {f["name"]: f["source"] for f in page["context"]["facts"]}
    assert facts == {"now": "INPUT", "timezone": "INPUT"}
    assert page["context"]["timezone"] == "Asia/Seoul"
    assert page["context"]["localTime"].startswith("2026-11-30T08:00:00")


def test_plain_grapple_page_query_renders_the_default_content(home_page, gql):
    query = """{ page(urlPath: "/", inSite: true) { ... on HomePage { body {
        blockType ... on PersonalizedBlock { slot variant content { ... on CharBlock { value } } } } } } }"""

    body = gql(query)["data"]["page"]["body"]

    block = next(b for b in body if b["blockType"] == "PersonalizedBlock")
    assert block["variant"] == "default"
    assert block["content"][0]["value"] == "Content that fits the moment"


def test_personalized_page_costs_the_same_sql_as_grapples_page_query(home_page, client):
    fields = """id title ... on HomePage { body { id blockType ... on CharBlock { value }
        ... on PersonalizedBlock { slot content { id blockType ... on CharBlock { value } } } } }"""
    plain = '{ page(urlPath: "/", inSite: true) { %s } }' % fields
    personalized = (
        '{ personalizedPage(urlPath: "/", inSite: true, context: {timezone: "Asia/Seoul", now: "2026-11-30T08:00:00+09:00"})'
        " { page { %s } decisions { slot variant token } } }" % fields
    )

    def count(query: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/graphql/", {"query": query}, content_type="application/json")
        assert response.status_code == 200 and "errors" not in response.json(), response.content
        return len(queries)

    count(personalized)  # warm up: compile once, as every later request finds it compiled
    assert count(personalized) == count(plain)


def test_deciding_a_compiled_page_runs_no_sql(home_page):
    ctx = Context.build(timezone="Asia/Seoul", now=home_page.last_published_at)
    personalize_page(home_page, ctx)

    with CaptureQueriesContext(connection) as queries:
        result = personalize_page(home_page, ctx)

    assert len(queries) == 0
    assert [d.slot_name for d in result.decisions] == ["hero", "reading", "cta"]


def test_publishing_a_new_revision_changes_the_decision(home_page, gql):
    ctx = {"timezone": "Asia/Seoul", "now": "2026-11-30T08:00:00+09:00"}
    assert hero(gql(DECISIONS, {"urlPath": "/", "context": ctx}))["variantName"] == "Morning"

    body = home_page.body.raw_data
    slot = next(b for b in body if b["type"] == "personalized")
    morning = next(v for v in slot["value"]["variants"] if v["value"]["name"] == "Morning")
    morning["value"]["name"] = "Early birds"
    home_page.body = list(body)
    home_page.save_revision(log_action=False).publish(log_action=False)

    assert hero(gql(DECISIONS, {"urlPath": "/", "context": ctx}))["variantName"] == "Early birds"
