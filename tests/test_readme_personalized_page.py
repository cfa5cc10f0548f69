"""README, *Ask for a personalized page*: the example query and its answer, `now` and `timezone`,
errors that name the field, and decision tokens, through `POST /graphql/`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from freezegun import freeze_time

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("## Ask for a personalized page", 1)[1].split("\n## ", 1)[0]
CTA_NAMES = {"Learn more", "Start free trial", "Book a demo"}

DECISIONS = """
query ($ctx: ContextInput) {
  personalizedPage(urlPath: "/", inSite: true, context: $ctx) {
    decisions { slot variant variantName policy probability reasons token }
    context { timezone localTime facts { name source } }
  }
}
"""
EXPLAIN = "query ($t: String!) { explainDecision(token: $t) { slot variant variantName policy probability reasons } }"


def readme_block(language: str, after: str) -> str:
    """The first fenced block of `language` after the text `after` in the README's section."""
    tail = SECTION.split(after, 1)[1]
    return re.search(rf"```{language}\n(.*?)```", tail, re.S).group(1)


def decide(gql, ctx: dict | None) -> dict:
    result = gql(DECISIONS, {"ctx": ctx})
    assert "errors" not in result, result
    return result["data"]["personalizedPage"]


def hero(page: dict) -> dict:
    return next(d for d in page["decisions"] if d["slot"] == "hero")


def demo_variant_ids(home_page, slot: str) -> dict[str, str]:
    block = next(b for b in home_page.body.raw_data if b["type"] == "personalized" and b["value"]["slot"] == slot)
    return {item["value"]["name"]: item["id"] for item in block["value"]["variants"]}


# --- the example ------------------------------------------------------------------------------------


def test_the_readme_example_query_returns_the_readme_answer_for_the_demo_page(home_page, gql):
    query = readme_block("graphql", "`POST /graphql/`")
    expected = json.loads(readme_block("json", "The answer for the demo page"))["data"]["personalizedPage"]

    result = gql(query)

    assert "errors" not in result, result
    actual = result["data"]["personalizedPage"]
    # the page: same title and body, block for block; the bandit's block may show another arm
    assert actual["page"]["title"] == expected["page"]["title"]
    assert len(actual["page"]["body"]) == len(expected["page"]["body"])
    for got, want in zip(actual["page"]["body"], expected["page"]["body"], strict=True):
        if want.get("slot") == "cta":
            assert got["variantName"] in CTA_NAMES
            got = {**got, "variantName": want["variantName"]}
        assert got == want
    # the decisions: the rules slots exactly (but their tokens, shortened in the README)
    by_slot = {d["slot"]: d for d in actual["decisions"]}
    assert [d["slot"] for d in actual["decisions"]] == [d["slot"] for d in expected["decisions"]]
    for want in expected["decisions"]:
        got = by_slot[want["slot"]]
        assert isinstance(got["token"], str) and len(got["token"]) > 40
        if want["slot"] == "cta":
            continue
        assert {**got, "token": None} == {**want, "token": None}
    # the bandit: a Thompson-sampling choice among the three calls to action, its id the README's for its name
    cta, want = by_slot["cta"], next(d for d in expected["decisions"] if d["slot"] == "cta")
    ids = demo_variant_ids(home_page, "cta")
    assert ids[want["variantName"]] == want["variant"]
    assert cta["policy"] == want["policy"] == "BANDIT"
    assert cta["variantName"] in CTA_NAMES and cta["variant"] == ids[cta["variantName"]]
    assert 0 < cta["probability"] < 1
    assert all(re.fullmatch(r"(Exploring|Best so far): \d+% share \(Thompson sampling\)", r) for r in cta["reasons"])
    assert re.fullmatch(r"Exploring: \d+% share \(Thompson sampling\)", want["reasons"][0])
    # the cache key: the README's shape, with this database's page and revision ids
    assert re.fullmatch(r"tailor:\d+:\d+:…", expected["cacheKey"])
    assert actual["cacheKey"].startswith(f"tailor:{home_page.pk}:{home_page.live_revision_id}:")
    assert re.fullmatch(r"tailor:\d+:\d+:[a-z2-7]{16}", actual["cacheKey"])


@pytest.mark.parametrize(
    ("local", "variant", "policy", "reason"),
    [
        ("20:00", "Evening", "RULES", "Evening 18:00–23:00 (Asia/Seoul)"),
        ("14:00", "Default", "DEFAULT", "Morning: Morning 06:00–11:00 (Asia/Seoul): it is 14:00 there"),
    ],
)
def test_the_same_query_at_other_hours_in_seoul(home_page, gql, local, variant, policy, reason):
    decision = hero(decide(gql, {"timezone": "Asia/Seoul", "now": f"2026-11-30T{local}:00+09:00"}))

    assert (decision["variantName"], decision["policy"]) == (variant, policy)
    assert reason in decision["reasons"]


# --- now and timezone ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "expected"), [("2026-11-29T23:30:00Z", "Morning"), ("2026-11-30T11:00:00Z", "Evening")]
)
def test_without_now_the_server_clock_is_used(home_page, gql, utc, expected):
    with freeze_time(utc):  # 08:30 / 20:00 in Seoul
        page = decide(gql, {"timezone": "Asia/Seoul"})

    assert hero(page)["variantName"] == expected
    assert {"name": "now", "source": "SERVER"} in page["context"]["facts"]


@pytest.mark.parametrize("timezone", ["Asia/Seoul", "America/New_York", "Europe/Berlin"])
@pytest.mark.parametrize(("wall_clock", "expected"), [("08:00", "Morning"), ("20:00", "Evening"), ("14:00", "Default")])
def test_now_without_an_offset_is_wall_clock_time_in_the_visitors_timezone(
    home_page, gql, timezone, wall_clock, expected
):
    page = decide(gql, {"timezone": timezone, "now": f"2026-11-30T{wall_clock}:00"})

    assert hero(page)["variantName"] == expected
    assert page["context"]["localTime"].startswith(f"2026-11-30T{wall_clock}:00")


def test_the_default_timezone_setting_lets_time_rules_match_without_a_timezone(home_page, gql, settings):
    instant = "2026-11-29T23:30:00Z"  # 08:30 in Seoul, 18:30 the day before in New York
    assert hero(decide(gql, {"now": instant}))["policy"] == "DEFAULT"  # unknown is never guessed

    settings.TAILOR = {**settings.TAILOR, "DEFAULT_TIMEZONE": "Asia/Seoul"}
    page = decide(gql, {"now": instant})
    visitor_zone = decide(gql, {"now": instant, "timezone": "America/New_York"})

    assert hero(page)["variantName"] == "Morning"
    assert page["context"]["timezone"] == "Asia/Seoul"
    assert {"name": "timezone", "source": "SERVER"} in page["context"]["facts"]
    # the visitor's own timezone still wins over the site's default
    assert hero(visitor_zone)["variantName"] == "Evening"
    assert {"name": "timezone", "source": "INPUT"} in visitor_zone["context"]["facts"]


# --- errors that name the field, never a server error ---------------------------------------------------


def test_an_unknown_timezone_written_in_the_query_is_an_error_naming_the_field(home_page, client):
    query = '{ personalizedPage(urlPath: "/", inSite: true, context: {timezone: "Mars/Base"}) { cacheKey } }'

    response = client.post("/graphql/", {"query": query}, content_type="application/json")

    assert response.status_code < 500
    (error,) = response.json()["errors"]
    assert error["message"].startswith("context.timezone: unknown timezone 'Mars/Base'")


@pytest.mark.parametrize("now", ["yesterday", "2026-13-45T99:00:00Z"])
def test_a_malformed_now_written_in_the_query_is_an_error_naming_the_field(home_page, client, now):
    query = (
        '{ personalizedPage(urlPath: "/", inSite: true, context: {timezone: "Asia/Seoul", now: "%s"}) { cacheKey } }'
    )

    response = client.post("/graphql/", {"query": query % now}, content_type="application/json")

    assert response.status_code < 500
    (error,) = response.json()["errors"]
    assert error["message"].startswith("context.now: "), error
    assert error["extensions"] == {"field": "context.now"}


# --- decision tokens ----------------------------------------------------------------------------------------


def test_a_decision_token_expires_and_then_explains_nothing(home_page, gql, settings):
    settings.TAILOR = {**settings.TAILOR, "TOKEN_MAX_AGE": 3600}
    with freeze_time("2026-11-30T08:00:00Z"):
        decision = hero(decide(gql, {"timezone": "Asia/Seoul", "now": "2026-11-30T08:00:00+09:00"}))

    with freeze_time("2026-11-30T08:59:00Z"):
        explained = gql(EXPLAIN, {"t": decision["token"]})["data"]["explainDecision"]
    with freeze_time("2026-11-30T09:00:02Z"):
        expired = gql(EXPLAIN, {"t": decision["token"]})

    assert explained["variantName"] == "Morning" and explained["reasons"] == decision["reasons"]
    assert expired == {"data": {"explainDecision": None}}


# --- personalizedPage { context { facts { name value source } } } ----------------------------------------------


def test_the_context_echoes_each_fact_used_with_its_value_and_source(home_page, gql):
    query = """query ($ctx: ContextInput) { personalizedPage(urlPath: "/", inSite: true, context: $ctx) {
      context { facts { name value source } } } }"""
    ctx = {
        "timezone": "Asia/Seoul",
        "now": "2026-11-30T08:00:00+09:00",
        "country": "South Korea",
        "weather": {"condition": "RAIN", "temperatureC": 12},
    }

    result = gql(query, {"ctx": ctx}, HTTP_ACCEPT_LANGUAGE="ko-KR,ko;q=0.9", HTTP_X_VERCEL_IP_CITY="Seoul")

    facts = {f["name"]: (f["value"], f["source"]) for f in result["data"]["personalizedPage"]["context"]["facts"]}
    assert facts == {
        "now": ("2026-11-30T08:00:00+09:00", "INPUT"),
        "timezone": ("Asia/Seoul", "INPUT"),
        "country": ("KR", "INPUT"),
        "weather": ({"condition": "rain", "temperature_c": 12.0}, "INPUT"),
        "language": (["ko-KR", "ko"], "HEADER"),
        "city": ("Seoul", "HEADER"),
    }
